/**
 * The SIP guard's decisions on the product's defaults, over the memory store and over a
 * real Redis: bans after SIP_AUTH_MAX_FAILURES, doubling, scanners on sight, a username
 * under attack slowed (never locked), the request rate and set-up caps with trusted
 * sources exempt, aggregated failure logging, and what a store that fails means (open).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig, readDefaults, type SipGuardConfig } from '../../../src/config/config.js';
import { SipGuard } from '../../../src/sip/guard/sip-guard.js';
import type { SipRequest } from '../../../src/sip/srf.js';
import { RedisSipGuardStore } from '../../../src/store/redis-sip-guard-store.js';
import { MemorySipGuardStore, type SipGuardStore } from '../../../src/store/sip-guard-store.js';
import { capturedLogger } from '../../support/log-capture.js';

const DEFAULTS = loadConfig({}, readDefaults()).sipGuard;
const ATTACKER = '203.0.113.66';

function request(source: string, options: { method?: string; userAgent?: string } = {}): SipRequest {
  const headers = new Map(options.userAgent === undefined ? [] : [['user-agent', options.userAgent]]);
  return {
    method: options.method ?? 'INVITE',
    uri: 'sip:team@sip.example.com',
    body: '',
    callId: `${randomUUID()}@test`,
    source_address: source,
    protocol: 'udp',
    meta: { source: 'network' },
    get: (name) => headers.get(name.toLowerCase()),
    has: (name) => headers.has(name.toLowerCase()),
    getParsedHeader: () => ({ uri: 'sip:caller@192.0.2.1' }),
    once: () => undefined,
  };
}

const guards: SipGuard[] = [];
const disposers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const guard of guards.splice(0)) guard.close();
  for (const dispose of disposers.splice(0)) await dispose();
});

interface Clock {
  now: number;
}

function guardOver(store: SipGuardStore, config: Partial<SipGuardConfig> = {}) {
  const clock: Clock = { now: 1_700_000_000_000 };
  const capture = capturedLogger();
  const guard = new SipGuard({ ...DEFAULTS, ...config }, store, capture.log, () => clock.now);
  guards.push(guard);
  return { guard, clock, capture };
}

const backends: Array<{ name: string; open(): SipGuardStore }> = [
  { name: 'memory', open: () => new MemorySipGuardStore() },
  {
    name: 'redis',
    open() {
      const redis = new Redis(inject('redisUrl'));
      const prefix = `test:${randomUUID()}:`;
      disposers.push(async () => {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      });
      return new RedisSipGuardStore(redis, { prefix });
    },
  },
];

describe.each(backends)('SipGuard over the $name store', (backend) => {
  it('bans a source at SIP_AUTH_MAX_FAILURES within the window, drops it, and logs one warn line without secrets', async () => {
    const { guard, clock, capture } = guardOver(backend.open());
    for (let i = 1; i < DEFAULTS.maxFailures; i++) {
      await guard.failed({ source: ATTACKER, username: `user${i}`, reason: 'unknown-user' });
      clock.now += 1000;
    }
    expect(await guard.screen(request(ATTACKER))).toBe(true);
    await guard.failed({ source: ATTACKER, username: 'user5', reason: 'wrong-password' });
    expect(await guard.screen(request(ATTACKER))).toBe(false);
    expect(await guard.screen(request(ATTACKER, { method: 'OPTIONS' }))).toBe(false);
    expect(await guard.screen(request('198.51.100.1'))).toBe(true);

    const [ban] = await guard.list();
    expect(ban).toMatchObject({ address: ATTACKER, failures: 5, strike: 1, until: clock.now + DEFAULTS.banMs });
    const warnings = capture.lines().filter((line) => line.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ msg: 'SIP source banned', address: ATTACKER, failures: 5, seconds: 900 })]);
    expect(guard.counters()).toMatchObject({ bans: 1, authFailures: 5, droppedBanned: 2 });
  });

  it('does not ban failures spread wider than the window', async () => {
    const { guard, clock } = guardOver(backend.open());
    for (let i = 0; i < 2 * DEFAULTS.maxFailures; i++) {
      await guard.failed({ source: ATTACKER, username: 'u', reason: 'wrong-password' });
      clock.now += DEFAULTS.windowMs / (DEFAULTS.maxFailures - 1);
    }
    expect(await guard.list()).toEqual([]);
  });

  it('doubles the ban of a source that comes back and fails again', async () => {
    const { guard, clock } = guardOver(backend.open());
    const failFive = async () => {
      for (let i = 0; i < DEFAULTS.maxFailures; i++) await guard.failed({ source: ATTACKER, username: 'u', reason: 'wrong-password' });
    };
    await failFive();
    clock.now += DEFAULTS.banMs + DEFAULTS.windowMs;
    expect(await guard.screen(request(ATTACKER))).toBe(true);
    await failFive();
    expect(await guard.list()).toEqual([expect.objectContaining({ strike: 2, until: clock.now + 2 * DEFAULTS.banMs })]);
  });

  it('bans a scanner User-Agent on sight', async () => {
    const { guard } = guardOver(backend.open());
    expect(await guard.screen(request(ATTACKER, { method: 'OPTIONS', userAgent: 'friendly-scanner' }))).toBe(false);
    expect(await guard.screen(request(ATTACKER, { userAgent: 'Zoiper rv2.10' }))).toBe(false);
    expect(await guard.list()).toEqual([expect.objectContaining({ address: ATTACKER, failures: 0, reason: 'scanner User-Agent (friendly-scanner)' })]);
    expect(await guard.screen(request('198.51.100.2', { userAgent: 'Zoiper rv2.10' }))).toBe(true);
    expect(guard.counters()).toMatchObject({ bans: 1, scannerBans: 1 });
  });

  it('lifts a ban and forgets the source\'s failures', async () => {
    const { guard } = guardOver(backend.open());
    for (let i = 0; i < DEFAULTS.maxFailures; i++) await guard.failed({ source: ATTACKER, username: 'u', reason: 'wrong-password' });
    expect(await guard.lift(ATTACKER)).toBe(true);
    expect(await guard.lift(ATTACKER)).toBe(false);
    expect(await guard.screen(request(ATTACKER))).toBe(true);
    // One more failure is a first again, not a sixth.
    await guard.failed({ source: ATTACKER, username: 'u', reason: 'wrong-password' });
    expect(await guard.list()).toEqual([]);
  });

  it('slows a username failed from many sources, and bans none of them', async () => {
    const { guard } = guardOver(backend.open());
    expect(await guard.underAttack('alice')).toBe(false);
    for (let i = 0; i < DEFAULTS.maxFailures; i++) await guard.failed({ source: `203.0.113.${i}`, username: 'alice', reason: 'wrong-password' });
    expect(await guard.underAttack('alice')).toBe(true);
    expect(await guard.underAttack('bob')).toBe(false);
    expect(await guard.list()).toEqual([]);
    // Its owner from a new address is not dropped: the answer is only slowed.
    expect(await guard.screen(request('198.51.100.3'))).toBe(true);
  });

  it('keeps a spent nonce spent', async () => {
    const { guard } = guardOver(backend.open());
    await guard.spendNonce('n1', 60_000);
    expect(await guard.isNonceSpent('n1')).toBe(true);
    expect(await guard.isNonceSpent('n2')).toBe(false);
  });

  it('spends a single-use nonce once, and counts the replay', async () => {
    const { guard } = guardOver(backend.open());
    const spends = await Promise.all([guard.spendNonceIfNew('mac', 10_000), guard.spendNonceIfNew('mac', 10_000)]);
    expect(spends.sort()).toEqual([false, true]);
    expect(guard.counters().spentNonceRetries).toBe(1);
  });
});

describe('SipGuard rate limits', () => {
  it('drops a source beyond SIP_MAX_REQUESTS_PER_SECOND within one second, and takes it again the next', async () => {
    const { guard, clock } = guardOver(new MemorySipGuardStore(), { maxRequestsPerSecond: 3 });
    clock.now = 1_700_000_000_000;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await guard.screen(request(ATTACKER, { method: 'OPTIONS' })));
    expect(answers).toEqual([true, true, true, false, false]);
    expect(await guard.screen(request('198.51.100.4', { method: 'OPTIONS' }))).toBe(true);
    clock.now += 1000;
    expect(await guard.screen(request(ATTACKER, { method: 'OPTIONS' }))).toBe(true);
    expect(guard.counters().droppedRateLimited).toBe(2);
  });

  it('never limits SIP_TRUSTED_SOURCES, IPv4-mapped addresses included', async () => {
    const { guard } = guardOver(new MemorySipGuardStore(), {
      maxRequestsPerSecond: 1,
      maxSetupsPerSource: 1,
      trustedSources: [{ address: '192.0.2.0', prefix: 24, family: 'ipv4' }],
    });
    for (let i = 0; i < 50; i++) expect(await guard.screen(request('192.0.2.77', { method: 'OPTIONS' }))).toBe(true);
    for (let i = 0; i < 50; i++) expect(await guard.screen(request('::ffff:192.0.2.78', { method: 'OPTIONS' }))).toBe(true);
    expect([guard.takeSourceSetup('192.0.2.77'), guard.takeSourceSetup('192.0.2.77')]).toEqual([expect.any(Function), expect.any(Function)]);
  });

  it('caps set-ups in flight per source and per credential until one is released', () => {
    const { guard } = guardOver(new MemorySipGuardStore(), { maxSetupsPerSource: 2, maxSetupsPerCredential: 1 });
    const first = guard.takeSourceSetup(ATTACKER);
    expect(guard.takeSourceSetup(ATTACKER)).toBeDefined();
    expect(guard.takeSourceSetup(ATTACKER)).toBeUndefined();
    first!();
    first!();
    expect(guard.takeSourceSetup(ATTACKER)).toBeDefined();
    expect(guard.takeSourceSetup(ATTACKER)).toBeUndefined();

    const alice = guard.takeCredentialSetup('alice');
    expect(guard.takeCredentialSetup('alice')).toBeUndefined();
    expect(guard.takeCredentialSetup('bob')).toBeDefined();
    alice!();
    expect(guard.takeCredentialSetup('alice')).toBeDefined();
    expect(guard.counters()).toMatchObject({ setupsRefusedPerSource: 2, setupsRefusedPerCredential: 1 });
  });
});

describe('SipGuard logging', () => {
  it('logs failures per source per window: the first at once, the count at the window\'s end; never a username or secret', async () => {
    const { guard, capture } = guardOver(new MemorySipGuardStore(), { maxFailures: 1000 });
    for (let i = 0; i < 40; i++) await guard.failed({ source: ATTACKER, username: `name-${i}`, reason: 'wrong-password' });
    expect(capture.lines().filter((line) => line.source === ATTACKER)).toHaveLength(1);
    guard.close();
    const lines = capture.lines().filter((line) => line.source === ATTACKER);
    expect(lines).toEqual([
      expect.objectContaining({ level: 30 }),
      expect.objectContaining({ level: 30, failures: 40, usernames: 40, windowSeconds: 300 }),
    ]);
    expect(capture.text()).not.toContain('name-');
  });
});

describe('SipGuard with a store that fails', () => {
  it('fails open: lets requests on, counts the errors, and logs the outage once', async () => {
    const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    disposers.push(async () => redis.disconnect());
    const { guard, capture } = guardOver(new RedisSipGuardStore(redis));
    expect(await guard.screen(request(ATTACKER))).toBe(true);
    for (let i = 0; i < 10; i++) await guard.failed({ source: ATTACKER, username: 'u', reason: 'wrong-password' });
    expect(await guard.screen(request(ATTACKER))).toBe(true);
    expect(await guard.isNonceSpent('n')).toBe(false);
    expect(await guard.spendNonceIfNew('n', 10_000)).toBe(true);
    expect(await guard.underAttack('u')).toBe(false);
    expect(guard.counters().storeErrors).toBeGreaterThan(10);
    expect(capture.lines().filter((line) => line.level === 40)).toEqual([expect.objectContaining({ msg: expect.stringMatching(/store is unavailable/) })]);
  });

  it('fails open on a store that does not answer (a stalled Redis): a request goes on within a quarter second', async () => {
    const stalled = new Proxy(new MemorySipGuardStore(), { get: () => () => new Promise(() => undefined) }) as SipGuardStore;
    const { guard } = guardOver(stalled);
    const started = performance.now();
    expect(await guard.screen(request(ATTACKER))).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(guard.counters().storeErrors).toBe(1);
  });
});
