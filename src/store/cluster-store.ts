/**
 * Which gateway nodes are up and which node hosts each meeting, shared by every node
 * (Redis), or kept for the one node (memory). A node publishes itself with a short TTL
 * and refreshes it; a meeting's owner holds a lease that expires unless renewed, so a
 * node that dies gives its meetings up within one lease.
 */

export type NodeState = 'serving' | 'draining';

/** One gateway node as the others see it. */
export interface NodeRecord {
  readonly id: string;
  /** Where SIP reaches this node, e.g. sip:10.0.0.5:5060. */
  readonly sipUri: string;
  /** The node's PUBLIC_URL: its meeting pages and signaling WebSockets. */
  readonly publicUrl: string;
  readonly state: NodeState;
  /** Participants in this node's rooms. */
  readonly load: number;
  /**
   * The node's drain time is up while calls it proxied are live on other nodes: the nodes
   * holding them end them (it holds no dialog to send their BYE from). Absent otherwise.
   */
  readonly endingRelays?: boolean;
  readonly publishedAt: number;
}

/**
 * A meeting's owner. The epoch comes from one counter every claim increments, so a later
 * owner always holds a greater epoch than any before it (a fencing token).
 */
export interface MeetingLease {
  readonly meetingId: string;
  readonly nodeId: string;
  /** The owner's public URL, where browsers of the meeting are sent. */
  readonly url: string;
  readonly epoch: number;
}

export interface ClusterStore {
  /** Publishes (or refreshes) the node's record, gone ttlMs from now unless published again. */
  publishNode(node: NodeRecord, ttlMs: number): Promise<void>;
  /** Takes the node's record down at once (a node closing). */
  removeNode(nodeId: string): Promise<void>;
  /** Every node whose record has not expired. */
  listNodes(): Promise<NodeRecord[]>;
  /** Nodes that vanished without closing: their record expired, and nobody has cleaned up after them yet. */
  goneNodes(): Promise<string[]>;
  /** Takes the clean-up of a gone node for ttlMs: of concurrent callers exactly one gets true (a short lock). */
  claimCleanup(nodeId: string, cleanerId: string, ttlMs: number): Promise<boolean>;
  /** The gone node is cleaned up: goneNodes() no longer lists it. */
  forgetNode(nodeId: string): Promise<void>;

  /**
   * Claims the meeting for the node unless a live lease holds it: the new lease when
   * claimed, the holder's otherwise. Atomic: of concurrent claims exactly one wins.
   */
  claimMeeting(meetingId: string, owner: { nodeId: string; url: string }, ttlMs: number): Promise<MeetingLease>;
  /** Extends the lease by ttlMs if it is still this very lease (same owner and epoch); false when it is not. */
  renewMeeting(lease: MeetingLease, ttlMs: number): Promise<boolean>;
  /** Ends the lease if it is still this very lease; false when it is not (expired, or another's). */
  releaseMeeting(lease: MeetingLease): Promise<boolean>;
  /** The live lease on the meeting, if any. */
  meetingOwner(meetingId: string): Promise<MeetingLease | undefined>;
}
