/**
 * The clean-up after a node that died, on a real Redis: the live nodes all look, exactly
 * one clears the gone node's call and participant records and its meeting leases, and
 * each call and participant is told once; a live node's records, a node that closed
 * cleanly and a lease another node took are left alone.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { GONE_NODE_REASON, GoneNodeCleanup, type GoneNodeObserver } from '../../src/cluster/gone-node-cleanup.js';
import { RedisClusterStore } from '../../src/store/redis-cluster-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { NodeRecord } from '../../src/store/cluster-store.js';
import type { ActiveCall } from '../../src/store/store.js';
import { capturedLogger } from '../support/log-capture.js';
import { until } from '../support/until.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** One node's view: its own connection, as separate gateways have. */
async function nodeView(prefix: string) {
  const store = await RedisStore.connect(inject('redisUrl'), { prefix });
  const cluster = new RedisClusterStore(store.redis, { prefix });
  disposers.push(async () => {
    const keys = await store.redis.keys(`${prefix}*`);
    if (keys.length > 0) await store.redis.del(...keys);
    await store.close();
  });
  return { store, cluster };
}

const node = (id: string): NodeRecord => ({ id, sipUri: `sip:${id}:5060`, publicUrl: `http://${id}`, state: 'serving', load: 1, publishedAt: Date.now() });
const call = (callId: string, nodeId: string, meetingId = 'm1'): ActiveCall => ({ callId, meetingId, nodeId, caller: '***0123', codec: 'PCMU', startedAt: Date.now() - 1000 });

function recordingObserver() {
  const told: string[] = [];
  const observer: GoneNodeObserver = {
    callLost: (lost, _at, reason) => told.push(`call ${lost.callId} ${reason}`),
    left: (participant, reason) => told.push(`participant ${participant.id} ${reason}`),
  };
  return { told, observer };
}

describe('GoneNodeCleanup', () => {
  it('has exactly one of several live nodes clear what a vanished node left, each call and participant told once', async () => {
    const prefix = `test:${randomUUID()}:`;
    const views = await Promise.all([nodeView(prefix), nodeView(prefix), nodeView(prefix)]);
    const [{ store, cluster }] = views;
    await store.createMeeting({ id: 'm1', title: 'm1', createdAt: Date.now() });
    await store.createMeeting({ id: 'm2', title: 'm2', createdAt: Date.now() });
    await cluster.publishNode(node('dead'), 150);
    await cluster.publishNode(node('closed'), 60_000);
    await cluster.removeNode('closed');
    await cluster.publishNode(node('live'), 60_000);
    await store.putCall(call('dead-call', 'dead'));
    await store.putCall(call('live-call', 'live', 'm2'));
    const joinedAt = Date.now();
    await store.putParticipant({ id: 'p-dead', meetingId: 'm1', displayName: 'Ada', kind: 'browser', muted: false, nodeId: 'dead', joinedAt });
    await store.putParticipant({ id: 'p-live', meetingId: 'm2', displayName: 'Bo', kind: 'phone', muted: false, nodeId: 'live', joinedAt });
    const deadLease = await cluster.claimMeeting('m1', { nodeId: 'dead', url: 'http://dead' }, 60_000);
    const liveLease = await cluster.claimMeeting('m2', { nodeId: 'live', url: 'http://live' }, 60_000);
    await sleep(300);

    const { told, observer } = recordingObserver();
    const cleanups = views.map(
      (view, i) => new GoneNodeCleanup(view.cluster, view.store, { nodeId: `live-${i}`, observer }, capturedLogger().log),
    );
    disposers.push(async () => void (await Promise.all(cleanups.map((cleanup) => cleanup.close()))));
    await Promise.all(cleanups.map((cleanup) => cleanup.check()));
    await until(async () => (await cluster.goneNodes()).length === 0, 5000, 'the gone node forgotten');

    expect(told.sort()).toEqual([`call dead-call ${GONE_NODE_REASON}`, `participant p-dead ${GONE_NODE_REASON}`]);
    expect((await store.listCalls()).map((c) => c.callId)).toEqual(['live-call']);
    expect(await store.listParticipants('m1')).toEqual([]);
    expect((await store.listParticipants('m2')).map((p) => p.id)).toEqual(['p-live']);
    expect(await cluster.meetingOwner('m1')).toBeUndefined();
    expect(await cluster.meetingOwner('m2')).toEqual(liveLease);
    expect(deadLease.nodeId).toBe('dead');
  });
});
