/**
 * When a webhook that failed is tried again: exponential backoff with jitter, capped, for
 * at most a day from when the event was queued. The n-th retry waits a random time in
 * [d/2, d] with d = min(maxDelay, firstDelay · 2^(n−1)) ("equal jitter"): receivers that
 * come back are not hit by every gateway's retries at once, and each wait is still at
 * least as long as the longest the one before could have been.
 * With the defaults: about 1 s, 2 s, 4 s, … (the twelfth retry 35 to 70 minutes after the
 * first failure), then one every 30 to 60 minutes: some 35 to 60 attempts in 24 h.
 */
export interface RetrySchedule {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** From the event's queueing: a retry due later than this is not made. */
  readonly giveUpAfterMs: number;
}

export const WEBHOOK_RETRIES: RetrySchedule = { firstDelayMs: 1000, maxDelayMs: 3_600_000, giveUpAfterMs: 86_400_000 };

/** The wait after `failedAttempts` (1 or more) attempts have failed. */
export function retryDelayMs(failedAttempts: number, schedule: RetrySchedule = WEBHOOK_RETRIES, random: () => number = Math.random): number {
  const ceiling = Math.min(schedule.maxDelayMs, schedule.firstDelayMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * When the next attempt is due, or undefined when that would be past the give-up time.
 * `notBeforeMs`: the least wait the receiver asked for (Retry-After), within maxDelayMs.
 */
export function nextAttemptAt(
  webhook: { readonly createdAt: number; readonly attempts: number },
  now: number,
  schedule: RetrySchedule = WEBHOOK_RETRIES,
  notBeforeMs = 0,
  random: () => number = Math.random,
): number | undefined {
  const waitMs = Math.max(retryDelayMs(webhook.attempts, schedule, random), Math.min(notBeforeMs, schedule.maxDelayMs));
  const dueAt = now + waitMs;
  return dueAt > webhook.createdAt + schedule.giveUpAfterMs ? undefined : dueAt;
}
