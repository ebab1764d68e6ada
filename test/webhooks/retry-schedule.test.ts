import { describe, expect, it } from 'vitest';
import { WEBHOOK_RETRIES, nextAttemptAt, retryDelayMs } from '../../src/webhooks/retry-schedule.js';

const lowest = () => 0;
const highest = () => 1;

describe('the webhook retry schedule', () => {
  it('doubles the wait after each failure, from 1 s, with jitter in the upper half', () => {
    expect([1, 2, 3, 4, 5].map((failed) => retryDelayMs(failed, WEBHOOK_RETRIES, highest))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect([1, 2, 3, 4, 5].map((failed) => retryDelayMs(failed, WEBHOOK_RETRIES, lowest))).toEqual([500, 1000, 2000, 4000, 8000]);
    for (let i = 0; i < 200; i++) {
      const wait = retryDelayMs(6, WEBHOOK_RETRIES);
      expect(wait).toBeGreaterThanOrEqual(16_000);
      expect(wait).toBeLessThanOrEqual(32_000);
    }
  });

  it('never waits less than the longest wait before could have been: the waits grow whatever the jitter', () => {
    for (let failed = 1; failed < 12; failed++) {
      expect(retryDelayMs(failed + 1, WEBHOOK_RETRIES, lowest)).toBeGreaterThanOrEqual(retryDelayMs(failed, WEBHOOK_RETRIES, highest));
    }
  });

  it('caps the wait at an hour, however many attempts failed', () => {
    expect(retryDelayMs(13, WEBHOOK_RETRIES, highest)).toBe(3_600_000);
    expect(retryDelayMs(1000, WEBHOOK_RETRIES, highest)).toBe(3_600_000);
    expect(retryDelayMs(1000, WEBHOOK_RETRIES, lowest)).toBe(1_800_000);
  });

  it('keeps trying for 24 h from when the event was queued, then gives up: 35 to 59 attempts', () => {
    for (const [random, attempts] of [[lowest, 59], [highest, 35]] as const) {
      const createdAt = 0;
      let now = createdAt;
      let made = 1;
      for (;;) {
        const dueAt = nextAttemptAt({ createdAt, attempts: made }, now, WEBHOOK_RETRIES, 0, random);
        if (dueAt === undefined) break;
        expect(dueAt).toBeLessThanOrEqual(createdAt + 86_400_000);
        now = dueAt;
        made++;
      }
      expect(made).toBe(attempts);
      expect(now).toBeGreaterThan(86_400_000 - 3_600_000);
    }
  });

  it('waits at least what the receiver asked for (Retry-After), but no longer than the cap', () => {
    expect(nextAttemptAt({ createdAt: 0, attempts: 1 }, 10_000, WEBHOOK_RETRIES, 30_000, highest)).toBe(40_000);
    expect(nextAttemptAt({ createdAt: 0, attempts: 1 }, 10_000, WEBHOOK_RETRIES, 100, highest)).toBe(11_000);
    expect(nextAttemptAt({ createdAt: 0, attempts: 1 }, 10_000, WEBHOOK_RETRIES, 86_400_000, highest)).toBe(3_610_000);
  });
});
