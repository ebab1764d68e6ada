/**
 * A node ending the calls that came through a peer whose drain time is up, on a real
 * Redis: each look finds the peers whose presence record says `endingRelays` (and no
 * other), and a store that fails is said once, not at every look.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { RelayedCallEnds } from '../../src/cluster/relayed-call-ends.js';
import type { NodeRecord } from '../../src/store/cluster-store.js';
import { RedisClusterStore } from '../../src/store/redis-cluster-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { capturedLogger } from '../support/log-capture.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function clusterView(prefix: string) {
  const store = await RedisStore.connect(inject('redisUrl'), { prefix });
  disposers.push(async () => {
    const keys = await store.redis.keys(`${prefix}*`);
    if (keys.length > 0) await store.redis.del(...keys);
    await store.close();
  });
  return new RedisClusterStore(store.redis, { prefix });
}

const node = (id: string, extra: Partial<NodeRecord> = {}): NodeRecord => ({ id, sipUri: `sip:${id}:5060`, publicUrl: `http://${id}`, state: 'serving', load: 0, publishedAt: Date.now(), ...extra });

describe('RelayedCallEnds', () => {
  it('ends the calls that came through the peers whose drain time is up, and only those', async () => {
    const cluster = await clusterView(`test:${randomUUID()}:`);
    await cluster.publishNode(node('serving'), 60_000);
    await cluster.publishNode(node('draining', { state: 'draining' }), 60_000);
    await cluster.publishNode(node('time-up', { state: 'draining', endingRelays: true }), 60_000);
    const asked: string[][] = [];
    const ends = new RelayedCallEnds(cluster, { endCallsVia: (ids) => void asked.push([...ids]) }, capturedLogger().log);
    disposers.push(() => ends.close());
    await ends.check();
    expect(asked).toEqual([['time-up']]);
  });

  it('asks nothing while no peer is ending its relays', async () => {
    const cluster = await clusterView(`test:${randomUUID()}:`);
    await cluster.publishNode(node('draining', { state: 'draining' }), 60_000);
    const asked: string[][] = [];
    const ends = new RelayedCallEnds(cluster, { endCallsVia: (ids) => void asked.push([...ids]) }, capturedLogger().log);
    disposers.push(() => ends.close());
    await ends.check();
    expect(asked).toEqual([]);
  });

  it('says a store that fails once, not at every look', async () => {
    const store = await RedisStore.connect(inject('redisUrl'), { prefix: `test:${randomUUID()}:` });
    const cluster = new RedisClusterStore(store.redis, { prefix: 'unused:' });
    // Redis out of reach: the connection is closed under the cluster store.
    await store.close();
    const captured = capturedLogger();
    const ends = new RelayedCallEnds(cluster, { endCallsVia: () => undefined }, captured.log);
    disposers.push(() => ends.close());
    await ends.check();
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(captured.lines().filter((line) => line.msg === 'draining peers not looked up; trying again')).toHaveLength(1);
  });
});
