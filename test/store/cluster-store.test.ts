import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { ClusterStore, NodeRecord } from '../../src/store/cluster-store.js';
import { MemoryClusterStore } from '../../src/store/memory-cluster-store.js';
import { RedisClusterStore } from '../../src/store/redis-cluster-store.js';

interface Backend {
  name: string;
  open(): Promise<{ cluster: ClusterStore; dispose(): Promise<void> }>;
}

/** Each test's keys under a prefix of its own, deleted afterwards. */
async function redisCluster(prefix = `test:${randomUUID()}:`): Promise<{ cluster: RedisClusterStore; redis: Redis; dispose(): Promise<void> }> {
  const redis = new Redis(inject('redisUrl'));
  return {
    cluster: new RedisClusterStore(redis, { prefix }),
    redis,
    async dispose() {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ cluster: new MemoryClusterStore(), dispose: async () => {} }) },
  { name: 'redis', open: () => redisCluster() },
];

const node = (id: string, extra: Partial<NodeRecord> = {}): NodeRecord => ({
  id,
  sipUri: 'sip:127.0.0.1:5060',
  publicUrl: `http://${id}.example.com`,
  state: 'serving',
  load: 0,
  publishedAt: 1_700_000_000_000,
  ...extra,
});

const A = { nodeId: 'host-a:1:aaaaaa', url: 'http://a.example.com' };
const B = { nodeId: 'host-b:2:bbbbbb', url: 'http://b.example.com' };

describe.each(backends)('ClusterStore contract: $name', (backend) => {
  let cluster: ClusterStore;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ cluster, dispose } = await backend.open());
  });

  afterEach(async () => {
    await dispose();
  });

  it('lists a published node until its record expires or is removed', async () => {
    await cluster.publishNode(node('a'), 60_000);
    await cluster.publishNode(node('b', { state: 'draining', load: 3 }), 150);
    expect((await cluster.listNodes()).sort((x, y) => x.id.localeCompare(y.id))).toEqual([node('a'), node('b', { state: 'draining', load: 3 })]);
    await sleep(300);
    expect(await cluster.listNodes()).toEqual([node('a')]);
    await cluster.removeNode('a');
    expect(await cluster.listNodes()).toEqual([]);
  });

  it('gives a meeting to the first claim and answers later claims with that lease', async () => {
    const first = await cluster.claimMeeting('m1', A, 60_000);
    expect(first).toMatchObject({ meetingId: 'm1', nodeId: A.nodeId, url: A.url });
    expect(await cluster.claimMeeting('m1', B, 60_000)).toEqual(first);
    expect(await cluster.meetingOwner('m1')).toEqual(first);
    expect(await cluster.meetingOwner('m2')).toBeUndefined();
  });

  it('lets another node claim a meeting once its lease expires, with a greater epoch', async () => {
    const first = await cluster.claimMeeting('m1', A, 150);
    await sleep(300);
    expect(await cluster.meetingOwner('m1')).toBeUndefined();
    const second = await cluster.claimMeeting('m1', B, 60_000);
    expect(second.nodeId).toBe(B.nodeId);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    // The old owner can neither extend nor end the new owner's lease.
    expect(await cluster.renewMeeting(first, 60_000)).toBe(false);
    expect(await cluster.releaseMeeting(first)).toBe(false);
    expect(await cluster.meetingOwner('m1')).toEqual(second);
  });

  it('keeps a renewed lease past its first term', async () => {
    const lease = await cluster.claimMeeting('m1', A, 300);
    for (let i = 0; i < 4; i++) {
      await sleep(120);
      expect(await cluster.renewMeeting(lease, 300)).toBe(true);
    }
    expect(await cluster.meetingOwner('m1')).toEqual(lease);
  });

  it('frees a released meeting for the next claim at once', async () => {
    const lease = await cluster.claimMeeting('m1', A, 60_000);
    expect(await cluster.releaseMeeting(lease)).toBe(true);
    expect(await cluster.releaseMeeting(lease)).toBe(false);
    expect(await cluster.meetingOwner('m1')).toBeUndefined();
    expect((await cluster.claimMeeting('m1', B, 60_000)).nodeId).toBe(B.nodeId);
  });
});

describe('RedisClusterStore lease race', () => {
  it('gives each meeting to exactly one of many nodes claiming it at once, every time', async () => {
    const prefix = `test:${randomUUID()}:`;
    // One connection per node, as separate gateways have.
    const nodes = await Promise.all(Array.from({ length: 5 }, () => redisCluster(prefix)));
    try {
      for (let round = 0; round < 200; round++) {
        const meetingId = `race-${round}`;
        const leases = await Promise.all(
          nodes.map(({ cluster }, i) => cluster.claimMeeting(meetingId, { nodeId: `node-${i}`, url: `http://node-${i}.example.com` }, 60_000)),
        );
        const winners = new Set(leases.map((lease) => `${lease.nodeId}/${lease.epoch}`));
        expect(winners.size, `round ${round}: ${[...winners].join(', ')}`).toBe(1);
        expect(await nodes[0]!.cluster.meetingOwner(meetingId)).toEqual(leases[0]);
      }
    } finally {
      await Promise.all(nodes.map(({ dispose }) => dispose()));
    }
  });
});

describe('RedisClusterStore gone nodes', () => {
  it('lists a node whose record expired (not one that was removed) as gone, lets one cleaner of many take it, and drops it once forgotten', async () => {
    const prefix = `test:${randomUUID()}:`;
    const nodes = await Promise.all(Array.from({ length: 3 }, () => redisCluster(prefix)));
    const [first] = nodes.map(({ cluster }) => cluster);
    try {
      await first!.publishNode(node('vanished'), 150);
      await first!.publishNode(node('closed'), 60_000);
      await first!.publishNode(node('live'), 60_000);
      await first!.removeNode('closed');
      expect(await first!.goneNodes()).toEqual([]);
      await sleep(300);
      expect(await first!.goneNodes()).toEqual(['vanished']);
      expect((await first!.listNodes()).map(({ id }) => id)).toEqual(['live']);
      const claims = await Promise.all(nodes.map(({ cluster }, i) => cluster.claimCleanup('vanished', `cleaner-${i}`, 60_000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      await first!.forgetNode('vanished');
      expect(await first!.goneNodes()).toEqual([]);
    } finally {
      await Promise.all(nodes.map(({ dispose }) => dispose()));
    }
  });
});
