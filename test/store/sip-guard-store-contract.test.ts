/**
 * The SIP guard's shared state, the same on both backends: the sliding failure windows,
 * bans that double on repeat, lifting a ban, spent nonces (spent once, atomically); and, on Redis, the set
 * drachtio-server's --blacklist-redis-key reads.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisSipGuardStore } from '../../src/store/redis-sip-guard-store.js';
import { BAN_MEMORY_MS, MemorySipGuardStore, type SipGuardStore } from '../../src/store/sip-guard-store.js';

interface Backend {
  name: string;
  open(): Promise<{ store: SipGuardStore; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ store: new MemorySipGuardStore(), dispose: async () => {} }) },
  {
    name: 'redis',
    async open() {
      const redis = new Redis(inject('redisUrl'));
      const prefix = `test:${randomUUID()}:`;
      return {
        store: new RedisSipGuardStore(redis, { prefix }),
        async dispose() {
          const keys = await redis.keys(`${prefix}*`);
          if (keys.length > 0) await redis.del(...keys);
          await redis.quit();
        },
      };
    },
  },
];

const T0 = 1_700_000_000_000;
const WINDOW = 300_000;
const BASE = 900_000;

describe.each(backends)('SipGuardStore contract: $name', (backend) => {
  let store: SipGuardStore;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ store, dispose } = await backend.open());
  });
  afterEach(async () => {
    await dispose();
  });

  it('counts failures over a sliding window, per kind and key', async () => {
    expect(await store.recordFailure('source', '192.0.2.1', T0, WINDOW)).toBe(1);
    expect(await store.recordFailure('source', '192.0.2.1', T0, WINDOW)).toBe(2);
    expect(await store.recordFailure('source', '192.0.2.1', T0 + 200_000, WINDOW)).toBe(3);
    // The same text as a username is another window.
    expect(await store.recordFailure('username', '192.0.2.1', T0 + 200_000, WINDOW)).toBe(1);
    expect(await store.failures('source', '192.0.2.1', T0 + 200_000, WINDOW)).toBe(3);
    // The first two slide out of the window; the third stays.
    expect(await store.failures('source', '192.0.2.1', T0 + WINDOW, WINDOW)).toBe(1);
    expect(await store.recordFailure('source', '192.0.2.1', T0 + WINDOW + 1, WINDOW)).toBe(2);
    expect(await store.failures('source', '192.0.2.2', T0, WINDOW)).toBe(0);
  });

  it('bans for the base length, returns a running ban unchanged, and doubles a repeat', async () => {
    const first = await store.ban({ address: '192.0.2.7', now: T0, baseMs: BASE, failures: 5, reason: '5 failed authentications in 300 s' });
    expect(first).toEqual({ address: '192.0.2.7', bannedAt: T0, until: T0 + BASE, failures: 5, reason: '5 failed authentications in 300 s', strike: 1 });
    expect(await store.ban({ address: '192.0.2.7', now: T0 + 1000, baseMs: BASE, failures: 6, reason: 'again' })).toEqual(first);
    expect(await store.activeBan('192.0.2.7', T0 + BASE - 1)).toEqual(first);
    expect(await store.activeBan('192.0.2.7', T0 + BASE)).toBeUndefined();

    const second = await store.ban({ address: '192.0.2.7', now: T0 + BASE + 10, baseMs: BASE, failures: 5, reason: 'r' });
    expect(second).toMatchObject({ strike: 2, until: T0 + BASE + 10 + 2 * BASE });
    const third = await store.ban({ address: '192.0.2.7', now: second.until, baseMs: BASE, failures: 5, reason: 'r' });
    expect(third).toMatchObject({ strike: 3, until: second.until + 4 * BASE });
  });

  it('forgets the strikes of a ban that ended longer ago than BAN_MEMORY_MS', async () => {
    const first = await store.ban({ address: '192.0.2.8', now: T0, baseMs: 1000, failures: 5, reason: 'r' });
    const remembered = await store.ban({ address: '192.0.2.8', now: first.until + BAN_MEMORY_MS - 1, baseMs: 1000, failures: 5, reason: 'r' });
    expect(remembered).toMatchObject({ strike: 2 });
    const forgotten = await store.ban({ address: '192.0.2.8', now: remembered.until + BAN_MEMORY_MS + 1, baseMs: 1000, failures: 5, reason: 'r' });
    expect(forgotten.strike).toBe(1);
    expect(forgotten.until - forgotten.bannedAt).toBe(1000);
  });

  it('lists the running bans, soonest to end first, and lifts one with its strikes and failures', async () => {
    await store.ban({ address: '2001:db8::1', now: T0, baseMs: 2 * BASE, failures: 5, reason: 'r' });
    await store.ban({ address: '192.0.2.9', now: T0, baseMs: BASE, failures: 0, reason: 'scanner User-Agent (friendly-scanner)' });
    await store.ban({ address: '192.0.2.10', now: T0 - 2 * BASE, baseMs: BASE, failures: 5, reason: 'r' });
    expect((await store.listBans(T0)).map((ban) => ban.address)).toEqual(['192.0.2.9', '2001:db8::1']);

    await store.recordFailure('source', '192.0.2.9', T0, WINDOW);
    expect(await store.unban('192.0.2.9', T0)).toBe(true);
    expect(await store.unban('192.0.2.9', T0)).toBe(false);
    expect(await store.unban('198.51.100.1', T0)).toBe(false);
    expect((await store.listBans(T0)).map((ban) => ban.address)).toEqual(['2001:db8::1']);
    expect(await store.failures('source', '192.0.2.9', T0, WINDOW)).toBe(0);
    // Lifted means forgotten: the next ban is a first one again.
    expect(await store.ban({ address: '192.0.2.9', now: T0 + 1, baseMs: BASE, failures: 5, reason: 'r' })).toMatchObject({ strike: 1 });
  });

  it('keeps a spent nonce for its time to live', async () => {
    await store.spendNonce('nonce-a', 150);
    expect(await store.isNonceSpent('nonce-a')).toBe(true);
    expect(await store.isNonceSpent('nonce-b')).toBe(false);
    await sleep(250);
    expect(await store.isNonceSpent('nonce-a')).toBe(false);
  });

  it('spends a nonce once when two spends of it run at the same instant', async () => {
    const spends = await Promise.all([store.spendNonceIfNew('token-mac', 60_000), store.spendNonceIfNew('token-mac', 60_000)]);
    expect(spends.filter((first) => first)).toHaveLength(1);
    expect(await store.isNonceSpent('token-mac')).toBe(true);
    expect(await store.spendNonceIfNew('token-mac', 60_000)).toBe(false);
    expect(await store.spendNonceIfNew('other-mac', 60_000)).toBe(true);
  });

  it('spends a nonce again once its time to live is over', async () => {
    expect(await store.spendNonceIfNew('nonce-c', 150)).toBe(true);
    expect(await store.spendNonceIfNew('nonce-c', 150)).toBe(false);
    await sleep(250);
    expect(await store.spendNonceIfNew('nonce-c', 150)).toBe(true);
  });
});

describe('RedisSipGuardStore with a drachtio-server blacklist key', () => {
  let redis: Redis;
  let prefix: string;
  let blacklistKey: string;

  beforeEach(() => {
    redis = new Redis(inject('redisUrl'));
    prefix = `test:${randomUUID()}:`;
    blacklistKey = `${prefix}drachtio-blacklist`;
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('adds a banned address to the set, and takes it out when the ban is lifted or has ended', async () => {
    const store = new RedisSipGuardStore(redis, { prefix, blacklistKey });
    await store.ban({ address: '192.0.2.20', now: T0, baseMs: BASE, failures: 5, reason: 'r' });
    await store.ban({ address: '192.0.2.21', now: T0, baseMs: BASE, failures: 5, reason: 'r' });
    await store.ban({ address: '192.0.2.22', now: T0, baseMs: 2 * BASE, failures: 5, reason: 'r' });
    expect((await redis.smembers(blacklistKey)).sort()).toEqual(['192.0.2.20', '192.0.2.21', '192.0.2.22']);

    await store.unban('192.0.2.20', T0);
    await store.sweep(T0 + BASE);
    expect(await redis.smembers(blacklistKey)).toEqual(['192.0.2.22']);
  });

  it('writes no set without a key', async () => {
    const store = new RedisSipGuardStore(redis, { prefix });
    await store.ban({ address: '192.0.2.23', now: T0, baseMs: BASE, failures: 5, reason: 'r' });
    expect(await redis.keys(`${prefix}*blacklist*`)).toEqual([]);
  });
});
