/**
 * What a node that died leaves behind, cleared by the live ones: its calls' records (GET
 * /api/calls is cluster-wide and would list them for ever), its participants' records, and
 * its meeting leases (the next join or call re-homes the meeting at once instead of within
 * the lease). A node that died is one whose presence record expired without the node
 * taking it down; every live node looks for such nodes every few seconds, and the one that
 * wins a short lock on a gone node clears it, so its calls' ends are told once: each call
 * and participant record whose removal succeeds is told to the observer (the webhooks) as
 * ended by the gateway. A node that was only cut off from Redis for longer than its
 * record's TTL is taken for dead too; once it reaches Redis again it writes its live calls
 * and participants again (RedisStore's resynchronisation).
 */
import type { Logger } from '../logger.js';
import type { ClusterStore } from '../store/cluster-store.js';
import type { ActiveCall, GatewayStore, Participant } from '../store/store.js';
import { ClusterWatch } from './cluster-watch.js';

/** The lock on one gone node's clean-up: a cleaner that dies midway leaves it to another after this. */
const CLEANUP_LOCK_MS = 30_000;
/** What a call or participant of a node that died ended with (the webhooks' `reason`). */
export const GONE_NODE_REASON = 'gateway node lost';

/** Told of each call and participant record cleared (the webhooks). */
export interface GoneNodeObserver {
  callLost(call: ActiveCall, endedAt: number, reason: string): void;
  left(participant: Participant, reason: string): void;
}

export interface GoneNodeCleanupOptions {
  /** This node, which does the clean-up when it wins the lock. */
  readonly nodeId: string;
  readonly observer?: GoneNodeObserver;
}

export class GoneNodeCleanup {
  private readonly watch: ClusterWatch;

  constructor(
    private readonly cluster: ClusterStore,
    private readonly store: Pick<GatewayStore, 'listCalls' | 'removeCall' | 'listMeetings' | 'listParticipants' | 'removeParticipant'>,
    private readonly options: GoneNodeCleanupOptions,
    private readonly log: Logger,
  ) {
    // A failed look is tried again at the next one; a lock it took expires.
    this.watch = new ClusterWatch(() => this.clearGoneNodes(), { log, failed: 'gone nodes not cleaned up; trying again', recovered: 'looking for gone nodes again' });
  }

  /** Looks for gone nodes now and clears those this node wins; resolves when done (never rejects). */
  check(): Promise<void> {
    return this.watch.check();
  }

  close(): Promise<void> {
    return this.watch.close();
  }

  private async clearGoneNodes(): Promise<void> {
    for (const nodeId of await this.cluster.goneNodes()) {
      if (nodeId === this.options.nodeId) continue;
      if (await this.cluster.claimCleanup(nodeId, this.options.nodeId, CLEANUP_LOCK_MS)) await this.clear(nodeId);
    }
  }

  private async clear(goneNodeId: string): Promise<void> {
    const at = Date.now();
    const { observer } = this.options;
    let calls = 0;
    for (const call of await this.store.listCalls()) {
      if (call.nodeId !== goneNodeId || !(await this.store.removeCall(call.callId))) continue;
      calls++;
      this.log.info({ callId: call.callId, meetingId: call.meetingId, goneNodeId }, 'call of a gone node marked ended');
      observer?.callLost(call, at, GONE_NODE_REASON);
    }
    let participants = 0;
    let leases = 0;
    for (const meeting of await this.store.listMeetings()) {
      if (meeting.endedAt !== undefined) continue;
      for (const participant of await this.store.listParticipants(meeting.id)) {
        if (participant.nodeId !== goneNodeId || !(await this.store.removeParticipant(meeting.id, participant.id))) continue;
        participants++;
        observer?.left(participant, GONE_NODE_REASON);
      }
      const lease = await this.cluster.meetingOwner(meeting.id);
      // Compare-and-delete: a lease another node has taken meanwhile stays.
      if (lease?.nodeId === goneNodeId && (await this.cluster.releaseMeeting(lease))) leases++;
    }
    await this.cluster.forgetNode(goneNodeId);
    this.log.warn({ goneNodeId, calls, participants, leases }, 'a gateway node vanished: its calls are marked ended and its meetings freed');
  }
}
