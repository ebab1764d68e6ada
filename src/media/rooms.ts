/**
 * The open rooms of this node, one per meeting with someone in it. A room opens on the
 * first join, closes after a grace period once empty, and closes at once when its
 * meeting ends. Membership is mirrored into the store so every node (and the API) sees it,
 * and told to the membership observer (the webhooks).
 */
import type { Logger } from '../logger.js';
import type { RoomCloseReason } from './room-notices.js';
import { Room, type RoomOptions } from './room.js';
import type { RoomMember } from './room-member.js';
import type { WorkerPool } from './worker-pool.js';
import type { GatewayStore, Participant, ParticipantKind } from '../store/store.js';

/** Who hears of every participant joining and leaving a room of this node (the webhooks); it must not throw. */
export interface MembershipObserver {
  joined(participant: Participant): void;
  left(participant: Participant, reason: string): void;
}

/** Who hears of each room of this node opening and closing (the meeting's lease); it must not throw. */
export interface RoomLifecycleObserver {
  roomOpened(meetingId: string): void;
  roomClosed(meetingId: string): void;
}

export interface RoomsOptions extends RoomOptions {
  readonly emptyGraceMs: number;
  /** This node's id, recorded with each participant. */
  readonly nodeId: string;
  readonly membership?: MembershipObserver;
  readonly lifecycle?: RoomLifecycleObserver;
}

export class Rooms {
  private readonly open = new Map<string, Promise<Room>>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  /** The rooms that have opened and not closed: what members counts. */
  private readonly opened = new Set<Room>();

  constructor(
    private readonly workers: WorkerPool,
    private readonly store: GatewayStore,
    private readonly options: RoomsOptions,
    private readonly log: Logger,
  ) {}

  /**
   * The meeting's room, opened on the least-loaded worker when it has none yet (waiting
   * for a replacement worker when all have just died).
   */
  async room(meetingId: string): Promise<Room> {
    let opening = this.open.get(meetingId);
    if (!opening) {
      opening = this.workers.available().then((worker) => Room.create(meetingId, worker, this.options, this.log)).then((room) => {
        this.watch(room);
        return room;
      });
      this.open.set(meetingId, opening);
      opening.catch(() => this.open.delete(meetingId));
    }
    return opening;
  }

  /** The room if it is open on this node. */
  async existing(meetingId: string): Promise<Room | undefined> {
    return this.open.get(meetingId)?.catch(() => undefined);
  }

  /** Whether the meeting's room is open (or opening) on this node. */
  isOpen(meetingId: string): boolean {
    return this.open.has(meetingId);
  }

  /** Whether someone (a browser or a phone) is in the meeting's room here, or the room is still opening for its first one. */
  occupied(meetingId: string): boolean {
    if (!this.open.has(meetingId)) return false;
    for (const room of this.opened) if (room.meetingId === meetingId) return room.size > 0;
    return true;
  }

  get count(): number {
    return this.open.size;
  }

  /** Browsers and phones in every open room of this node. */
  get members(): number {
    let members = 0;
    for (const room of this.opened) members += room.size;
    return members;
  }

  /** members, by kind. */
  membersByKind(): Record<ParticipantKind, number> {
    const counts: Record<ParticipantKind, number> = { browser: 0, phone: 0 };
    for (const room of this.opened) for (const { kind } of room.views()) counts[kind]++;
    return counts;
  }

  /** Removes a participant from the meeting's room on this node (see Room.expel); false when it has no such participant. */
  async removeParticipant(meetingId: string, participantId: string): Promise<boolean> {
    return (await this.existing(meetingId))?.expel(participantId) ?? false;
  }

  async close(meetingId: string, reason: RoomCloseReason): Promise<void> {
    (await this.existing(meetingId))?.close(reason);
  }

  async closeAll(reason: RoomCloseReason): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.close(id, reason)));
  }

  private watch(room: Room): void {
    const { meetingId } = room;
    this.opened.add(room);
    this.options.lifecycle?.roomOpened(meetingId);
    // A room nobody joins (capabilities fetched, then gone) must close too.
    this.scheduleIdleClose(room);
    room.on('memberAdded', (member) => {
      this.cancelIdleClose(meetingId);
      const participant = this.participant(meetingId, member);
      this.record(participant);
      this.options.membership?.joined(participant);
    });
    room.on('memberChanged', (member) => this.record(this.participant(meetingId, member)));
    room.on('memberRemoved', (member, reason) => {
      this.store.removeParticipant(meetingId, member.id).catch((err: Error) => this.storeFailed(meetingId, err));
      this.options.membership?.left(this.participant(meetingId, member), reason);
    });
    room.on('empty', () => this.scheduleIdleClose(room));
    room.once('closed', () => {
      this.opened.delete(room);
      this.cancelIdleClose(meetingId);
      this.open.delete(meetingId);
      this.options.lifecycle?.roomClosed(meetingId);
    });
  }

  private scheduleIdleClose(room: Room): void {
    this.cancelIdleClose(room.meetingId);
    const timer = setTimeout(() => {
      this.idleTimers.delete(room.meetingId);
      if (room.isIdle) room.close('idle');
    }, this.options.emptyGraceMs);
    timer.unref();
    this.idleTimers.set(room.meetingId, timer);
  }

  private cancelIdleClose(meetingId: string): void {
    clearTimeout(this.idleTimers.get(meetingId));
    this.idleTimers.delete(meetingId);
  }

  private participant(meetingId: string, member: RoomMember): Participant {
    return {
      id: member.id,
      meetingId,
      displayName: member.displayName,
      kind: member.kind,
      muted: member.muted,
      nodeId: this.options.nodeId,
      joinedAt: member.joinedAt,
    };
  }

  private record(participant: Participant): void {
    this.store.putParticipant(participant).catch((err: Error) => this.storeFailed(participant.meetingId, err));
  }

  private storeFailed(meetingId: string, err: Error): void {
    this.log.error({ meetingId, reason: err.message }, 'participant state not saved');
  }
}
