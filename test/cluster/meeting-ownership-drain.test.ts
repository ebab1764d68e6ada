/**
 * A draining node and its meeting leases (MeetingOwnership over the memory cluster store):
 * it renews a lease as long as anyone is in the meeting here, however long that lasts, and
 * gives it up at the first renewal after the last one left; a serving node keeps an open
 * room's lease.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MeetingOwnership } from '../../src/cluster/meeting-ownership.js';
import { MemoryClusterStore } from '../../src/store/memory-cluster-store.js';
import { capturedLogger } from '../support/log-capture.js';
import { until } from '../support/until.js';

const LEASE_MS = 300;
const owned: MeetingOwnership[] = [];

afterEach(async () => {
  await Promise.all(owned.splice(0).map((ownership) => ownership.close()));
});

function node(cluster: MemoryClusterStore, state: { serving: boolean; hosting: boolean }) {
  const ownership = new MeetingOwnership(
    cluster,
    { nodeId: 'node-a', publicUrl: 'http://a.example.com', leaseMs: LEASE_MS, serving: () => state.serving, hosting: () => state.hosting },
    capturedLogger().log,
  );
  owned.push(ownership);
  return ownership;
}

describe('MeetingOwnership while draining', () => {
  it('keeps renewing the lease of a meeting someone is still in, past several lease times, and gives it up once nobody is', async () => {
    const cluster = new MemoryClusterStore();
    const state = { serving: true, hosting: true };
    const ownership = node(cluster, state);
    expect(await ownership.admit('m1')).toEqual({ kind: 'here' });
    state.serving = false;
    await sleep(LEASE_MS * 3);
    expect((await cluster.meetingOwner('m1'))?.nodeId).toBe('node-a');
    state.hosting = false;
    await until(async () => (await cluster.meetingOwner('m1')) === undefined, LEASE_MS, 'the lease given up');
  });

  it('while serving, keeps the lease of a meeting it hosts', async () => {
    const cluster = new MemoryClusterStore();
    const ownership = node(cluster, { serving: true, hosting: true });
    await ownership.admit('m1');
    await sleep(LEASE_MS * 3);
    expect((await cluster.meetingOwner('m1'))?.nodeId).toBe('node-a');
  });
});
