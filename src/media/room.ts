/**
 * A meeting's media: one mediasoup Router on one worker, the members in it, who is
 * speaking, and, while phones are in it, its place on a media thread (where the mixer
 * they hear the meeting through runs).
 * Everything the room creates hangs off its router, so closing the router (or losing
 * its worker) releases all of it.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ROUTER_CODECS } from './codecs/router-codecs.js';
import type { MediaPlane } from './plane/media-plane.js';
import { MeetingMedia } from './plane/meeting-media.js';
import { type MemberChannel, type MemberIdentity, RoomMember } from './room-member.js';
import type { MemberView, ProducerOwnership, RoomCloseReason, RoomNotice } from './room-notices.js';
import { SPEAKING_INTERVAL_MS, SPEAKING_THRESHOLD_DB } from './speaking.js';

export interface RoomOptions {
  readonly maxParticipants: number;
  readonly mixer: {
    /** How many of the loudest talkers phones hear (MIXER_TALKERS). */
    readonly talkers: number;
    readonly plane: MediaPlane;
  };
}

/** The meeting's phone media while phones use it, and how many do (counted before it opens). */
interface PhoneMediaUse {
  readonly media: Promise<MeetingMedia>;
  users: number;
}

/** What the participants of a closing room are told, in words. */
export const ROOM_CLOSE_TEXT: Record<RoomCloseReason, string> = {
  'meeting-ended': 'meeting ended',
  'media-lost': 'media server lost; please rejoin',
  idle: 'meeting idle',
  draining: 'this meeting server is restarting; rejoin to continue',
  shutdown: 'gateway shutting down',
};

/** What a participant an operator removes is told, in words. */
const REMOVED_TEXT = 'removed from the meeting';

/** A producer in the room and the member it belongs to. */
interface RoomProducer {
  readonly producer: types.Producer;
  readonly owner: RoomMember;
}

interface RoomEvents {
  memberAdded: [RoomMember];
  memberChanged: [RoomMember];
  /** The member, and why it left. */
  memberRemoved: [RoomMember, string];
  empty: [];
  closed: [RoomCloseReason];
}

/** A member's producer fed by a relay that need run only while someone consumes it (a phone's). */
interface OnDemandFeed {
  consumers: number;
  readonly feed: (running: boolean) => Promise<void>;
}

export class Room extends EventEmitter<RoomEvents> {
  private readonly members = new Map<string, RoomMember>();
  private readonly roomProducers = new Map<string, RoomProducer>();
  private phones: PhoneMediaUse | undefined;
  /** By member id. */
  private readonly feeds = new Map<string, OnDemandFeed>();
  /** Who speaks: browsers as mediasoup's observer says, phones as their media threads say. */
  private browserSpeakers = new Set<string>();
  private readonly phoneSpeakers = new Set<string>();
  private speakers = new Set<string>();
  private closed = false;

  private constructor(
    readonly meetingId: string,
    readonly router: types.Router,
    private readonly audioLevels: types.AudioLevelObserver,
    private readonly options: RoomOptions,
    private readonly log: Logger,
  ) {
    super();
    router.once('workerclose', () => this.close('media-lost'));
    audioLevels.on('volumes', (volumes) => this.setBrowserSpeakers(volumes.map((v) => v.producer.id)));
    audioLevels.on('silence', () => this.setBrowserSpeakers([]));
  }

  static async create(meetingId: string, worker: types.Worker, options: RoomOptions, log: Logger): Promise<Room> {
    const router = await worker.createRouter({ mediaCodecs: ROUTER_CODECS });
    try {
      const audioLevels = await router.createAudioLevelObserver({
        maxEntries: 16,
        threshold: SPEAKING_THRESHOLD_DB,
        interval: SPEAKING_INTERVAL_MS,
      });
      const roomLog = log.child({ meetingId, routerId: router.id });
      roomLog.info({ workerPid: worker.pid }, 'room opened');
      return new Room(meetingId, router, audioLevels, options, roomLog);
    } catch (err) {
      router.close();
      throw err;
    }
  }

  get size(): number {
    return this.members.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** No participant, and no phone call being set up: nothing would miss the room if it closed. */
  get isIdle(): boolean {
    return this.members.size === 0 && (this.phones?.users ?? 0) === 0;
  }

  /** Throws gone when the room is closing, busy when the meeting is full; admit() checks the same. */
  assertHasPlace(): void {
    if (this.closed) throw new GatewayError('gone', `meeting "${this.meetingId}" is closing`);
    if (this.members.size >= this.options.maxParticipants) {
      throw new GatewayError('busy', `meeting "${this.meetingId}" is full (${this.options.maxParticipants} participants)`);
    }
  }

  /** Adds a participant; busy when the meeting is full. Others hear of it at once. */
  admit(identity: MemberIdentity, channel: MemberChannel): RoomMember {
    this.assertHasPlace();
    if (this.members.has(identity.id)) throw new GatewayError('conflict', `participant "${identity.id}" is already in the meeting`);
    const member = new RoomMember(
      identity,
      channel,
      this.router,
      {
        producerOpened: (owner, producer) => this.producerOpened(owner, producer),
        consumerOpened: (consumer) => this.consumerOpened(consumer),
        stateChanged: (changed) => {
          this.broadcast({ kind: 'member-changed', member: changed.view() });
          this.emit('memberChanged', changed);
        },
      },
      this.log,
    );
    this.broadcast({ kind: 'member-joined', member: member.view() });
    this.members.set(member.id, member);
    this.log.info({ participantId: member.id, kind: member.kind }, 'participant joined');
    this.emit('memberAdded', member);
    return member;
  }

  /** Removes a participant and closes its media; a no-op when already gone. */
  remove(id: string, reason: string): void {
    const member = this.members.get(id);
    if (!member) return;
    this.members.delete(id);
    member.close();
    this.broadcast({ kind: 'member-left', memberId: id });
    this.feeds.delete(id);
    this.browserSpeakers.delete(id);
    this.phoneSpeakers.delete(id);
    if (this.speakers.delete(id)) this.broadcast({ kind: 'speakers-changed', memberIds: [...this.speakers] });
    this.log.info({ participantId: id, reason }, 'participant left');
    this.emit('memberRemoved', member, reason);
    if (this.members.size === 0) this.emit('empty');
  }

  /**
   * An operator removes a participant: its channel tells it why (a phone's BYE, a
   * browser's notice and close code), then it leaves. False when it is not in the room.
   */
  expel(id: string): boolean {
    const member = this.members.get(id);
    if (!member) return false;
    member.channel.disconnect(REMOVED_TEXT, 'removed');
    this.remove(id, REMOVED_TEXT);
    return true;
  }

  /** A phone's caller pressed a key: the others hear of it (phones' channels ignore it). */
  digitPressed(memberId: string, digit: string): void {
    if (this.members.has(memberId)) this.broadcast({ kind: 'digit-pressed', memberId, digit }, memberId);
  }

  views(): MemberView[] {
    return [...this.members.values()].map((m) => m.view());
  }

  /** Every producer in the room except those of `exceptMemberId`, oldest first. */
  producers(exceptMemberId?: string): ProducerOwnership[] {
    return [...this.roomProducers.values()]
      .filter(({ owner }) => owner.id !== exceptMemberId)
      .map(({ producer, owner }) => ({ producerId: producer.id, memberId: owner.id }));
  }

  /**
   * The meeting's phone media, placed on a media thread with the first phone and released
   * with the last: call release() once done with it.
   */
  async phoneMedia(): Promise<{ media: MeetingMedia; release(): void }> {
    if (this.closed) throw new GatewayError('gone', `meeting "${this.meetingId}" is closing`);
    const use = (this.phones ??= this.openPhoneMedia());
    use.users++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.phoneMediaReleased(use);
    };
    try {
      return { media: await use.media, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * The member's producer (a phone's) gets its packets from `feed`, which the room runs
   * only while another member consumes it: a meeting of phones alone sends mediasoup
   * nothing. Given before the member produces.
   */
  feedOnDemand(memberId: string, feed: (running: boolean) => Promise<void>): void {
    if (this.members.has(memberId)) this.feeds.set(memberId, { consumers: 0, feed });
  }

  /** A phone's media thread says it started or stopped speaking. */
  phoneSpeaking(memberId: string, speaking: boolean): void {
    if (!this.members.has(memberId)) return;
    if (speaking) this.phoneSpeakers.add(memberId);
    else this.phoneSpeakers.delete(memberId);
    this.publishSpeakers();
  }

  /** Talkers and legs of the mixer, for tests and diagnostics; undefined without one. */
  async mixerCounts(): Promise<{ talkers: number; legs: number } | undefined> {
    const media = await this.phones?.media.catch(() => undefined);
    return media?.counts().catch(() => undefined);
  }

  /** Disconnects everyone and releases the router. Idempotent. */
  close(reason: RoomCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    const text = ROOM_CLOSE_TEXT[reason];
    for (const member of [...this.members.values()]) {
      member.channel.disconnect(text, reason);
      this.remove(member.id, text);
    }
    this.phones?.media.then((media) => media.close(), () => undefined);
    this.phones = undefined;
    this.router.close();
    this.log.info({ reason }, 'room closed');
    this.emit('closed', reason);
  }

  private producerOpened(owner: RoomMember, producer: types.Producer): void {
    this.roomProducers.set(producer.id, { producer, owner });
    producer.observer.once('close', () => this.roomProducers.delete(producer.id));
    // A phone's media thread judges its speaking: mediasoup gets a phone's audio only while a browser listens.
    if (owner.kind !== 'phone') {
      this.audioLevels.addProducer({ producerId: producer.id }).catch((err: Error) => {
        this.log.warn({ participantId: owner.id, reason: err.message }, 'speaking detection unavailable for a producer');
      });
      this.phones?.media.then((media) => this.mixTalker(media, producer, owner.id)).catch(() => undefined);
    }
    this.broadcast({ kind: 'producer-opened', producer: { producerId: producer.id, memberId: owner.id } }, owner.id);
  }

  /**
   * A member consumes a producer: one fed on demand is fed from now on, before the
   * consumer (created paused) can be resumed, so its first packets are not lost.
   */
  private async consumerOpened(consumer: types.Consumer): Promise<void> {
    const ownerId = this.roomProducers.get(consumer.producerId)?.owner.id;
    const demand = ownerId === undefined ? undefined : this.feeds.get(ownerId);
    if (ownerId === undefined || !demand) return;
    demand.consumers++;
    consumer.observer.once('close', () => {
      if (--demand.consumers === 0 && this.feeds.get(ownerId) === demand) void this.runFeed(ownerId, demand, false);
    });
    if (demand.consumers === 1) await this.runFeed(ownerId, demand, true);
  }

  /** A feed that fails to follow (its media thread died) is ended with its call: nothing to undo here. */
  private async runFeed(memberId: string, demand: OnDemandFeed, running: boolean): Promise<void> {
    await demand
      .feed(running)
      .catch((err: Error) => this.log.warn({ participantId: memberId, reason: err.message, running }, 'a phone\'s relay to mediasoup did not follow its consumers'));
  }

  /** Browsers' audio reaches the mixer through mediasoup; phones' goes to it from their own ports. */
  private openPhoneMedia(): PhoneMediaUse {
    const { talkers, plane } = this.options.mixer;
    const opening = MeetingMedia.open({ meetingId: this.meetingId, router: this.router, talkers, plane, log: this.log });
    const use: PhoneMediaUse = {
      users: 0,
      media: opening.then(async (media) => {
        // The next phone places the meeting afresh.
        media.once('lost', () => {
          if (this.phones === use) this.phones = undefined;
        });
        const browsers = [...this.roomProducers.values()].filter(({ owner }) => owner.kind !== 'phone');
        await Promise.all(browsers.map(({ producer, owner }) => this.mixTalker(media, producer, owner.id)));
        return media;
      }),
    };
    return use;
  }

  private async mixTalker(media: MeetingMedia, producer: types.Producer, ownerId: string): Promise<void> {
    await media.addTalker(producer, ownerId).catch((err: Error) => {
      // A producer closing while the mixer subscribes is expected; anything else means silence.
      if (!producer.closed) this.log.warn({ participantId: ownerId, reason: err.message }, 'phones cannot hear a participant');
    });
  }

  private phoneMediaReleased(use: PhoneMediaUse): void {
    if (--use.users > 0) return;
    if (this.phones === use) this.phones = undefined;
    use.media.then((media) => media.close(), () => undefined);
    // A call that never joined (its set-up failed or was never ACKed) leaves a room as empty as a member does.
    if (!this.closed && this.isIdle) this.emit('empty');
  }

  private setBrowserSpeakers(producerIds: string[]): void {
    this.browserSpeakers = new Set(producerIds.flatMap((id) => {
      const owner = this.roomProducers.get(id)?.owner;
      return owner ? [owner.id] : [];
    }));
    this.publishSpeakers();
  }

  /** Everyone speaking who is not muted, told to all when that changes. */
  private publishSpeakers(): void {
    const next = new Set([...this.browserSpeakers, ...this.phoneSpeakers].filter((id) => this.members.get(id)?.muted === false));
    if (next.size === this.speakers.size && [...next].every((id) => this.speakers.has(id))) return;
    this.speakers = next;
    for (const member of this.members.values()) member.speaking = next.has(member.id);
    this.broadcast({ kind: 'speakers-changed', memberIds: [...next] });
  }

  private broadcast(notice: RoomNotice, exceptMemberId?: string): void {
    for (const member of this.members.values()) {
      if (member.id !== exceptMemberId) member.channel.notify(notice);
    }
  }
}
