/**
 * Which node hosts a meeting: the one holding its lease in the cluster store. The first
 * browser join claims the meeting for the node that receives it, when that node is
 * serving: the browser is already connected there, so it costs no extra hop, and the
 * node that claims is the node that renews, so a lease never waits for a node that has
 * not heard of it yet. A draining node claims nothing new: it sends the join to the
 * least-loaded serving peer, which claims on arrival.
 *
 * The lease is renewed every third of MEETING_LEASE_SECONDS while the meeting's room is
 * open here and released when it closes; a draining node keeps renewing while anyone is
 * in the room and gives the lease up at the first renewal after the last one left. This node counts on a lease only until one
 * lease time after the last renewal it sent that Redis confirmed; past that (Redis away,
 * the lease lost) it admits nobody more to the meeting until it claims it again, by
 * which time the Redis key has expired too, so two nodes never both admit.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClusterStore, MeetingLease } from '../store/cluster-store.js';
import { withTimeout } from '../timeout.js';

const CLOSE_TIMEOUT_MS = 1000;

export type Placement = { readonly kind: 'here' } | { readonly kind: 'elsewhere'; readonly nodeId: string; readonly url: string };

export interface MeetingOwner {
  readonly nodeId: string;
  /** The owner's public URL (its PUBLIC_URL). */
  readonly url: string;
}

/** What the HTTP and signaling sides ask about a meeting's host. */
export interface MeetingPlacement {
  /** Where the meeting is hosted, claiming nothing: for a page, which may never join. */
  locate(meetingId: string): Promise<Placement>;
  /** Where a join goes: here when this node holds the lease or has just claimed it. */
  admit(meetingId: string): Promise<Placement>;
  owner(meetingId: string): Promise<MeetingOwner | undefined>;
}

export interface MeetingOwnershipOptions {
  readonly nodeId: string;
  readonly publicUrl: string;
  readonly leaseMs: number;
  /** false while this node drains: it claims no meeting. */
  serving(): boolean;
  /**
   * Whether this node hosts the meeting: its lease is kept while it does. While draining,
   * a lease no call or browser here needs any more is given up at the next renewal.
   */
  hosting(meetingId: string): boolean;
}

interface HeldLease {
  readonly lease: MeetingLease;
  readonly claimedAt: number;
  /** Until when this node counts on the lease. */
  validUntil: number;
}

const HERE: Placement = { kind: 'here' };

export class MeetingOwnership implements MeetingPlacement {
  private readonly held = new Map<string, HeldLease>();
  /** Runs while this node holds a lease. */
  private renewal: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly cluster: ClusterStore,
    private readonly options: MeetingOwnershipOptions,
    private readonly log: Logger,
  ) {}

  async locate(meetingId: string): Promise<Placement> {
    if (this.holds(meetingId)) return HERE;
    const owner = await this.cluster.meetingOwner(meetingId);
    if (owner) return owner.nodeId === this.options.nodeId ? HERE : elsewhere(owner);
    return this.options.serving() ? HERE : ((await this.servingPeer()) ?? HERE);
  }

  async admit(meetingId: string): Promise<Placement> {
    if (this.holds(meetingId)) return HERE;
    if (!this.options.serving()) {
      const owner = await this.cluster.meetingOwner(meetingId);
      if (owner && owner.nodeId !== this.options.nodeId) return elsewhere(owner);
      // Without a serving peer this node keeps the meeting here, as a single node would.
      if (!owner) {
        const peer = await this.servingPeer();
        if (peer) return peer;
      }
    }
    const { nodeId, publicUrl: url, leaseMs } = this.options;
    const sentAt = Date.now();
    const lease = await this.cluster.claimMeeting(meetingId, { nodeId, url }, leaseMs);
    if (lease.nodeId !== nodeId) return elsewhere(lease);
    const known = this.held.get(meetingId);
    // Still ours in Redis though this node had stopped counting on it: renewed before it counts again.
    if (known?.lease.epoch === lease.epoch) {
      if (!(await this.renew(known))) throw new GatewayError('unavailable', `meeting "${meetingId}" could not be kept on this node; try again`);
      return HERE;
    }
    this.held.set(meetingId, { lease, claimedAt: sentAt, validUntil: sentAt + leaseMs });
    this.keepRenewing();
    this.log.info({ meetingId, epoch: lease.epoch }, 'meeting claimed by this node');
    return HERE;
  }

  async owner(meetingId: string): Promise<MeetingOwner | undefined> {
    const lease = await this.cluster.meetingOwner(meetingId);
    return lease && { nodeId: lease.nodeId, url: lease.url };
  }

  /** A room opened here (a phone call may open one first): the meeting is claimed if nobody holds it. */
  roomOpened(meetingId: string): void {
    this.admit(meetingId).then(
      (placement) => {
        if (placement.kind === 'elsewhere') {
          this.log.warn({ meetingId, ownerNodeId: placement.nodeId }, 'a room opened on this node for a meeting another node hosts');
        }
      },
      (err: Error) => this.log.warn({ meetingId, reason: err.message }, 'meeting not claimed for the room opened here'),
    );
  }

  /** The room closed here: the lease goes at once, so the next join may claim it anywhere. */
  roomClosed(meetingId: string): void {
    // release() logs its own failure; the lease then expires on its own.
    void this.release(meetingId);
  }

  /** Gives up every lease (the node is closing); bounded, as a stalled Redis must not hold the shutdown (the leases expire anyway). */
  async close(): Promise<void> {
    this.closed = true;
    const releases = Promise.all([...this.held.keys()].map((meetingId) => this.release(meetingId)));
    await withTimeout(releases, CLOSE_TIMEOUT_MS, 'giving up the meeting leases').catch((err: Error) => {
      this.log.warn({ reason: err.message }, 'meeting leases not given up; they expire on their own');
    });
  }

  private keepRenewing(): void {
    if (this.renewal || this.closed) return;
    // renewAll never rejects: each renewal and release handles its own failure.
    this.renewal = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(this.options.leaseMs / 3)));
    this.renewal.unref();
  }

  /** No lease left: nothing to renew. */
  private forget(meetingId: string): void {
    this.held.delete(meetingId);
    if (this.held.size > 0) return;
    clearInterval(this.renewal);
    this.renewal = undefined;
  }

  private holds(meetingId: string): boolean {
    return (this.held.get(meetingId)?.validUntil ?? 0) > Date.now();
  }

  private async renewAll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.held.entries()].map(async ([meetingId, held]) => {
        // Claimed by a join whose room never opened (the browser went away first), or, draining, no longer needed here.
        if (!this.options.hosting(meetingId) && (!this.options.serving() || now - held.claimedAt > this.options.leaseMs)) return this.release(meetingId);
        await this.renew(held);
      }),
    );
  }

  /** true when the lease is still ours and extended; a lease found lost is forgotten. */
  private async renew(held: HeldLease): Promise<boolean> {
    const { meetingId, epoch } = held.lease;
    const sentAt = Date.now();
    try {
      if (await this.cluster.renewMeeting(held.lease, this.options.leaseMs)) {
        held.validUntil = sentAt + this.options.leaseMs;
        return true;
      }
      if (this.held.get(meetingId) === held) this.forget(meetingId);
      this.log.warn({ meetingId, epoch }, 'meeting lease lost: this node admits nobody more to it');
    } catch (err) {
      // Kept: a renewal that gets through before the lease runs out saves it.
      this.log.warn({ meetingId, epoch, reason: (err as Error).message }, 'meeting lease not renewed');
    }
    return false;
  }

  private async release(meetingId: string): Promise<void> {
    const held = this.held.get(meetingId);
    if (!held) return;
    this.forget(meetingId);
    try {
      await this.cluster.releaseMeeting(held.lease);
      this.log.info({ meetingId, epoch: held.lease.epoch }, 'meeting released by this node');
    } catch (err) {
      this.log.warn({ meetingId, reason: (err as Error).message }, 'meeting lease not released; it expires on its own');
    }
  }

  private async servingPeer(): Promise<Placement | undefined> {
    const peers = (await this.cluster.listNodes()).filter((node) => node.state === 'serving' && node.id !== this.options.nodeId);
    const least = peers.sort((a, b) => a.load - b.load)[0];
    return least ? { kind: 'elsewhere', nodeId: least.id, url: least.publicUrl } : undefined;
  }
}

function elsewhere(lease: MeetingLease): Placement {
  return { kind: 'elsewhere', nodeId: lease.nodeId, url: lease.url };
}
