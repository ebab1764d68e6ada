import type { ClusterStore, MeetingLease, NodeRecord } from './cluster-store.js';

/**
 * The single-node cluster store: the node sees only itself and claims every meeting it
 * is asked for, as before there were several nodes. Leases still expire, so it keeps the
 * interface's rules and serves unit tests of them.
 */
export class MemoryClusterStore implements ClusterStore {
  private readonly nodes = new Map<string, { node: NodeRecord; expiresAt: number }>();
  private readonly leases = new Map<string, { lease: MeetingLease; expiresAt: number }>();
  private epochs = 0;

  async publishNode(node: NodeRecord, ttlMs: number): Promise<void> {
    this.nodes.set(node.id, { node: { ...node }, expiresAt: Date.now() + ttlMs });
  }

  async removeNode(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
  }

  async listNodes(): Promise<NodeRecord[]> {
    const now = Date.now();
    for (const [id, { expiresAt }] of this.nodes) if (expiresAt <= now) this.nodes.delete(id);
    return [...this.nodes.values()].map(({ node }) => ({ ...node }));
  }

  /** A single node never sees another vanish. */
  async goneNodes(): Promise<string[]> {
    return [];
  }

  async claimCleanup(): Promise<boolean> {
    return false;
  }

  async forgetNode(): Promise<void> {}

  async claimMeeting(meetingId: string, owner: { nodeId: string; url: string }, ttlMs: number): Promise<MeetingLease> {
    const held = this.live(meetingId);
    if (held) return { ...held.lease };
    const lease = { meetingId, nodeId: owner.nodeId, url: owner.url, epoch: ++this.epochs };
    this.leases.set(meetingId, { lease, expiresAt: Date.now() + ttlMs });
    return { ...lease };
  }

  async renewMeeting(lease: MeetingLease, ttlMs: number): Promise<boolean> {
    const held = this.live(lease.meetingId);
    if (!held || !sameLease(held.lease, lease)) return false;
    held.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async releaseMeeting(lease: MeetingLease): Promise<boolean> {
    const held = this.live(lease.meetingId);
    if (!held || !sameLease(held.lease, lease)) return false;
    this.leases.delete(lease.meetingId);
    return true;
  }

  async meetingOwner(meetingId: string): Promise<MeetingLease | undefined> {
    const held = this.live(meetingId);
    return held && { ...held.lease };
  }

  private live(meetingId: string): { lease: MeetingLease; expiresAt: number } | undefined {
    const held = this.leases.get(meetingId);
    if (!held || held.expiresAt > Date.now()) return held;
    this.leases.delete(meetingId);
    return undefined;
  }
}

function sameLease(a: MeetingLease, b: MeetingLease): boolean {
  return a.nodeId === b.nodeId && a.epoch === b.epoch;
}
