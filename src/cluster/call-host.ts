/**
 * Where a phone call for a meeting is set up: on this node when it holds the meeting's
 * lease or has just claimed it; on the owner when another live, serving node holds it
 * (the call is handed to that node's SIP address). When the owner's node record is gone
 * (the node died) or it drains, the call cannot go there and must not open a second room
 * here: it is refused for now, until the lease expires (or is given up) and the next call
 * claims the meeting.
 */
import type { ClusterStore } from '../store/cluster-store.js';
import type { MeetingPlacement } from './meeting-ownership.js';

export type CallHost =
  | { readonly kind: 'here' }
  | { readonly kind: 'owner'; readonly nodeId: string; readonly sipUri: string }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly retryAfterSeconds: number };

export interface CallHosts {
  /** Where a call that has just been authenticated goes: the meeting is claimed here when nobody holds it. */
  hostFor(meetingId: string): Promise<CallHost>;
  /** The SIP URI of the live, serving node hosting the meeting when that is another node; claims nothing. */
  ownerElsewhere(meetingId: string): Promise<string | undefined>;
}

export class MeetingCallHosts implements CallHosts {
  constructor(
    private readonly placement: Pick<MeetingPlacement, 'admit' | 'locate'>,
    private readonly cluster: Pick<ClusterStore, 'listNodes'>,
    private readonly leaseMs: number,
  ) {}

  async hostFor(meetingId: string): Promise<CallHost> {
    const placement = await this.placement.admit(meetingId);
    if (placement.kind === 'here') return { kind: 'here' };
    const { nodeId } = placement;
    const node = (await this.cluster.listNodes()).find((candidate) => candidate.id === nodeId);
    const leaseSeconds = Math.ceil(this.leaseMs / 1000);
    if (!node) {
      return { kind: 'unavailable', reason: `meeting "${meetingId}" is held by node ${nodeId}, which is gone; its lease ends within ${leaseSeconds} s`, retryAfterSeconds: leaseSeconds };
    }
    if (node.state !== 'serving') {
      return { kind: 'unavailable', reason: `meeting "${meetingId}" is held by node ${nodeId}, which is draining`, retryAfterSeconds: leaseSeconds };
    }
    return { kind: 'owner', nodeId, sipUri: node.sipUri };
  }

  async ownerElsewhere(meetingId: string): Promise<string | undefined> {
    const placement = await this.placement.locate(meetingId);
    if (placement.kind === 'here') return undefined;
    const node = (await this.cluster.listNodes()).find((candidate) => candidate.id === placement.nodeId);
    return node?.state === 'serving' ? node.sipUri : undefined;
  }
}
