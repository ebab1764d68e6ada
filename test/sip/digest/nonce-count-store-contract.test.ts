import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MemoryNonceCountStore, type NonceCountStore } from '../../../src/sip/digest/nonce-count-store.js';
import { RedisNonceCountStore } from '../../../src/sip/digest/redis-nonce-count-store.js';

const TTL = 300_000;
/** Gateway nodes sharing the counts; for Redis each has its own connection, as real nodes do. */
const NODES = 4;

interface Backend {
  name: string;
  open(): Promise<{ nodes: NonceCountStore[]; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryNonceCountStore();
      return { nodes: Array.from({ length: NODES }, () => store), dispose: async () => {} };
    },
  },
  {
    name: 'redis',
    async open() {
      const url = inject('redisUrl');
      // A prefix per test keeps runs apart even on a shared Redis; its keys are deleted afterwards.
      const prefix = `test:${randomUUID()}:`;
      const clients = Array.from({ length: NODES }, () => new Redis(url));
      return {
        nodes: clients.map((client) => new RedisNonceCountStore(client, { prefix })),
        async dispose() {
          const keys = await clients[0]!.keys(`${prefix}*`);
          if (keys.length > 0) await clients[0]!.del(...keys);
          await Promise.all(clients.map((client) => client.quit()));
        },
      };
    },
  },
];

describe.each(backends)('NonceCountStore contract: $name', (backend) => {
  let nodes: NonceCountStore[];
  let store: NonceCountStore;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ nodes, dispose } = await backend.open());
    store = nodes[0]!;
  });
  afterEach(async () => {
    await dispose();
  });

  async function claims(nonce: string, counts: number[], ttlMs = TTL): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const nc of counts) results.push(await store.claim(nonce, nc, ttlMs));
    return results;
  }

  it('accepts strictly increasing counts, including a first count above 1', async () => {
    expect(await claims('nonce-a', [1, 2, 3, 10])).toEqual([true, true, true, true]);
    expect(await claims('nonce-b', [4, 5])).toEqual([true, true]);
  });

  it('refuses a replayed count and one that goes backwards', async () => {
    expect(await claims('nonce-a', [1, 1, 5, 3, 5, 6])).toEqual([true, false, true, false, false, true]);
  });

  it('compares counts as numbers up to the largest 8-hex-digit nc', async () => {
    expect(await claims('nonce-a', [9, 10, 0xfffffffe, 0xffffffff, 0xffffffff])).toEqual([true, true, true, true, false]);
  });

  it('counts each nonce separately', async () => {
    expect(await claims('nonce-a', [5])).toEqual([true]);
    expect(await claims('nonce-b', [1])).toEqual([true]);
    expect(await claims('nonce-a', [1])).toEqual([false]);
  });

  it('forgets a nonce once ttl has passed since its last accepted claim', async () => {
    expect(await claims('nonce-a', [5], 50)).toEqual([true]);
    expect(await claims('nonce-a', [5], 50)).toEqual([false]);
    await sleep(100);
    expect(await claims('nonce-a', [1], 50)).toEqual([true]);
  });

  it('shares the counts between nodes', async () => {
    expect(await nodes[1]!.claim('nonce-a', 3, TTL)).toBe(true);
    expect(await nodes[2]!.claim('nonce-a', 3, TTL)).toBe(false);
    expect(await nodes[3]!.claim('nonce-a', 4, TTL)).toBe(true);
  });

  it('lets exactly one of many concurrent claims of the same count win', async () => {
    const results = await Promise.all(Array.from({ length: 5 * NODES }, (_, i) => nodes[i % NODES]!.claim('nonce-a', 7, TTL)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('RedisNonceCountStore', () => {
  const url = () => inject('redisUrl');
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(url());
    prefix = `test:${randomUUID()}:`;
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('keeps one key per nonce under the prefix, expiring ttl after the last accepted claim', async () => {
    const store = new RedisNonceCountStore(redis, { prefix });
    await store.claim('nonce-a', 1, TTL);
    await store.claim('nonce-a', 2, 60_000);
    await store.claim('nonce-a', 1, TTL); // refused: must not touch the key
    expect(await redis.keys(`${prefix}*`)).toEqual([`${prefix}nonce-count:nonce-a`]);
    expect(await redis.get(`${prefix}nonce-count:nonce-a`)).toBe('2');
    const pttl = await redis.pttl(`${prefix}nonce-count:nonce-a`);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });

  it('rejects, rather than accepting, when Redis cannot answer', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => {});
    await expect(new RedisNonceCountStore(down).claim('nonce-a', 1, TTL)).rejects.toThrow();
    down.disconnect();
  });
});
