/**
 * The outbox against a real HTTP receiver (node:http on a loopback port) that fails as
 * receivers fail, over both stores (memory, and the real Redis of the test run).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { GatewayStore } from '../../src/store/store.js';
import type { RetrySchedule } from '../../src/webhooks/retry-schedule.js';
import { WebhookOutbox } from '../../src/webhooks/webhook-outbox.js';
import type { WebhookEvent } from '../../src/webhooks/webhook-events.js';
import { capturedLogger } from '../support/log-capture.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'whsec-0123456789abcdef';

interface Backend {
  readonly name: string;
  open(): Promise<{ store: GatewayStore; another(): Promise<GatewayStore>; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryStore();
      return { store, another: async () => store, dispose: async () => {} };
    },
  },
  {
    name: 'redis',
    async open() {
      const url = inject('redisUrl');
      const prefix = `test:${randomUUID()}:`;
      const stores = [await RedisStore.connect(url, { prefix })];
      return {
        store: stores[0]!,
        // A second node's store: its own connection to the same Redis.
        async another() {
          const store = await RedisStore.connect(url, { prefix });
          stores.push(store);
          return store;
        },
        async dispose() {
          await Promise.all(stores.map((store) => store.close()));
          const admin = new Redis(url);
          const keys = await admin.keys(`${prefix}*`);
          if (keys.length > 0) await admin.del(...keys);
          await admin.quit();
        },
      };
    },
  },
];

const ended = (meetingId: string): WebhookEvent => ({ type: 'meeting.ended', data: { meetingId, reason: 'test', endedAt: new Date().toISOString() } });

describe.each(backends)('webhook delivery ($name store)', (backend) => {
  let store: GatewayStore;
  let another: () => Promise<GatewayStore>;
  let dispose: () => Promise<void>;
  let receiver: WebhookReceiver;
  const outboxes: WebhookOutbox[] = [];
  const log = capturedLogger();

  const outbox = (options: { retries?: RetrySchedule; pollMs?: number; on?: GatewayStore; url?: string } = {}) => {
    const opened = new WebhookOutbox({
      url: options.url ?? receiver.url,
      secret: SECRET,
      store: options.on ?? store,
      log: log.log,
      pollMs: options.pollMs ?? 20,
      ...(options.retries && { retries: options.retries }),
    });
    outboxes.push(opened);
    return opened;
  };

  beforeEach(async () => {
    ({ store, another, dispose } = await backend.open());
    receiver = await WebhookReceiver.start();
  });

  afterEach(async () => {
    await Promise.all(outboxes.splice(0).map((one) => one.close()));
    await receiver.close();
    await dispose();
  });

  it('delivers an event the receiver failed twice (a 500, then a dropped connection), signed each time, waiting longer each time', { timeout: 15_000 }, async () => {
    receiver.answers = [500, 'drop'];
    const sender = outbox();
    sender.publish(ended('retried'));
    await until(() => receiver.accepted().length === 1, 10_000, 'the third attempt to be accepted');

    const [event] = receiver.accepted();
    expect(event).toMatchObject({ type: 'meeting.ended', data: { meetingId: 'retried', reason: 'test' } });
    expect(event!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(event!.timestamp)).toBeLessThanOrEqual(Date.now());
    const attempts = receiver.attemptsOf(event!.id);
    expect(attempts.map(({ answer }) => answer)).toEqual([500, 'drop', 204]);
    // The same bytes each time, each signed, with the event's id and type in headers too.
    expect(new Set(attempts.map(({ body }) => body)).size).toBe(1);
    for (const attempt of attempts) {
      expect(WebhookReceiver.signedWith(SECRET, attempt)).toBe(true);
      expect(WebhookReceiver.signedWith('whsec-another-secret-0000', attempt)).toBe(false);
      expect(attempt.headers).toMatchObject({ 'content-type': 'application/json', 'x-gateway-event-id': event!.id, 'x-gateway-event-type': 'meeting.ended' });
    }
    // Retries after 0.5-1 s, then 1-2 s (WEBHOOK_RETRIES), each found within a poll (20 ms).
    const waits = [attempts[1]!.atMs - attempts[0]!.atMs, attempts[2]!.atMs - attempts[1]!.atMs];
    expect(waits[0]).toBeGreaterThanOrEqual(490);
    expect(waits[0]).toBeLessThan(1500);
    expect(waits[1]).toBeGreaterThanOrEqual(990);
    expect(waits[1]).toBeLessThan(2500);
    // The receiver has the event before the sender has its answer and removed it from the store.
    await until(() => sender.counts().delivered === 1, 2000, 'the delivery counted');
    expect(sender.counts()).toMatchObject({ delivered: 1, retrying: 2, rejected: 0, expired: 0, dropped: 0 });
    // Delivered: gone from the store.
    expect(await store.claimDueWebhooks(Date.now() + 86_400_000, 1000, 10)).toEqual([]);
  });

  it('gives an event up on a 4xx such as 404, but tries a 429 again no sooner than its Retry-After', { timeout: 15_000 }, async () => {
    receiver.answers = [404];
    const sender = outbox({ retries: { firstDelayMs: 50, maxDelayMs: 5000, giveUpAfterMs: 60_000 } });
    sender.publish(ended('refused'));
    await until(() => sender.counts().rejected === 1, 5000, 'the 404 to give the event up');
    expect(receiver.requests).toHaveLength(1);
    expect(await store.claimDueWebhooks(Date.now() + 86_400_000, 1000, 10)).toEqual([]);

    // 429 with Retry-After: 1 → a second later, although the backoff alone would wait 25-50 ms.
    receiver.answers = [{ status: 429, headers: { 'Retry-After': '1' } }];
    sender.publish(ended('throttled'));
    await until(() => receiver.accepted().some((event) => event.data.meetingId === 'throttled'), 5000, 'the throttled event to arrive');
    const [first, second] = receiver.requests.slice(1);
    expect(first!.answer).toMatchObject({ status: 429 });
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(990);
  });

  it('gives up once its retries run out, and says so', { timeout: 10_000 }, async () => {
    receiver.otherwise = 503;
    const sender = outbox({ retries: { firstDelayMs: 40, maxDelayMs: 80, giveUpAfterMs: 500 } });
    sender.publish(ended('expiring'));
    await until(() => sender.counts().expired === 1, 5000, 'the event to expire');
    expect(receiver.requests.length).toBeGreaterThanOrEqual(4);
    expect(receiver.accepted()).toEqual([]);
    expect(await store.claimDueWebhooks(Date.now() + 86_400_000, 1000, 10)).toEqual([]);
    expect(log.lines().some((line) => line.msg === 'webhook given up: still not delivered when its retries ran out' && line.type === 'meeting.ended')).toBe(true);
  });

  it('returns from publish at once while the receiver holds a request, cuts the attempt off after 5 s and tries again', { timeout: 20_000 }, async () => {
    receiver.answers = ['hang'];
    const sender = outbox();
    const started = performance.now();
    sender.publish(ended('held'));
    sender.publish(ended('queued-behind'));
    expect(performance.now() - started).toBeLessThan(50);
    await until(() => receiver.accepted().length === 2, 15_000, 'both events after the held attempt timed out');
    const held = receiver.requests.find(({ answer }) => answer === 'hang')!;
    const heldId = JSON.parse(held.body).id as string;
    const [, retried] = receiver.attemptsOf(heldId);
    expect(retried!.atMs - held.atMs).toBeGreaterThanOrEqual(5000);
    expect(log.lines().some((line) => line.msg === 'webhook not delivered; tried again later' && line.failure === 'no answer within 5 s')).toBe(true);
  });

  it('posts each event once when two nodes deliver from the one store', { timeout: 15_000 }, async () => {
    const first = outbox({ pollMs: 5 });
    outbox({ pollMs: 5, on: await another() });
    for (let i = 0; i < 40; i++) first.publish(ended(`shared-${i}`));
    await until(() => receiver.accepted().length >= 40, 10_000, 'all 40 events');
    // Time for a second post of any, had two nodes taken one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ids = receiver.requests.map(({ body }) => JSON.parse(body).id as string);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });

  it('hands an attempt cut short by close() back at once: another node delivers it without waiting out the lease', { timeout: 15_000 }, async () => {
    receiver.answers = ['hang'];
    const closing = outbox();
    closing.publish(ended('handed-over'));
    await until(() => receiver.requests.length === 1, 5000, 'the held attempt');
    await closing.close();
    outbox({ on: await another() });
    await until(() => receiver.accepted().length === 1, 5000, 'the event from the other node');
    expect(receiver.accepted()[0]!.data).toMatchObject({ meetingId: 'handed-over' });
  });
});
