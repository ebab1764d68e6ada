/**
 * Meetings: creation, lookup and ending. The records live in the store; ending a meeting
 * also tells the listeners (the rooms, later the phone calls) so they disconnect everyone.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayStore, Meeting, Participant } from '../store/store.js';
import { isMeetingId, newMeetingId } from './meeting-id.js';

export interface MeetingView {
  readonly id: string;
  readonly title: string;
  readonly sipUri: string;
  readonly joinUrl: string;
  readonly hasPin: boolean;
  readonly createdAt: string;
  readonly endedAt?: string;
}

export interface NewMeeting {
  readonly id?: string;
  readonly title?: string;
  readonly pin?: string;
}

export type MeetingState = 'active' | 'ended' | 'unknown';

type EndListener = (meetingId: string, reason: string) => Promise<void> | void;

export class MeetingService {
  private readonly endListeners: EndListener[] = [];

  constructor(
    private readonly store: GatewayStore,
    private readonly addresses: { sipDomain: string; publicUrl: string },
    private readonly log: Logger,
  ) {}

  async create(request: NewMeeting): Promise<Meeting> {
    if (request.id !== undefined && !isMeetingId(request.id)) {
      throw new GatewayError('bad_request', 'meeting id must be 3 to 64 characters of A-Z, a-z, 0-9, "_" or "-"');
    }
    const id = request.id ?? (await this.unusedId());
    const meeting: Meeting = {
      id,
      title: request.title?.trim() || `Meeting ${id}`,
      ...(request.pin ? { pin: request.pin } : {}),
      createdAt: Date.now(),
    };
    if (!(await this.store.createMeeting(meeting))) {
      throw new GatewayError('conflict', `meeting "${id}" already exists`);
    }
    this.log.info({ meetingId: id }, 'meeting created');
    return meeting;
  }

  /** The meeting, or not_found. Ended meetings are returned too. */
  async get(id: string): Promise<Meeting> {
    const meeting = isMeetingId(id) ? await this.store.getMeeting(id) : undefined;
    if (!meeting) throw new GatewayError('not_found', `meeting "${id}" does not exist`);
    return meeting;
  }

  /** The meeting if it can be joined: not_found when unknown, gone when ended. */
  async getJoinable(id: string): Promise<Meeting> {
    const meeting = await this.get(id);
    if (meeting.endedAt !== undefined) throw new GatewayError('gone', `meeting "${id}" has ended`);
    return meeting;
  }

  async state(id: string): Promise<MeetingState> {
    const meeting = isMeetingId(id) ? await this.store.getMeeting(id) : undefined;
    return !meeting ? 'unknown' : meeting.endedAt === undefined ? 'active' : 'ended';
  }

  async list(): Promise<Meeting[]> {
    return (await this.store.listMeetings()).sort((a, b) => a.createdAt - b.createdAt);
  }

  async participants(id: string): Promise<Participant[]> {
    return this.store.listParticipants(id);
  }

  /** Ends the meeting and disconnects everyone in it; gone when it had already ended. */
  async end(id: string, reason = 'meeting ended'): Promise<Meeting> {
    await this.getJoinable(id);
    const ended = await this.store.endMeeting(id, Date.now());
    if (!ended) throw new GatewayError('not_found', `meeting "${id}" does not exist`);
    this.log.info({ meetingId: id, reason }, 'meeting ended');
    for (const listener of this.endListeners) {
      try {
        await listener(id, reason);
      } catch (err) {
        this.log.error({ meetingId: id, err }, 'disconnecting an ended meeting failed');
      }
    }
    return ended;
  }

  onEnd(listener: EndListener): void {
    this.endListeners.push(listener);
  }

  view(meeting: Meeting): MeetingView {
    return {
      id: meeting.id,
      title: meeting.title,
      sipUri: `sip:${meeting.id}@${this.addresses.sipDomain}`,
      joinUrl: `${this.addresses.publicUrl}/m/${meeting.id}`,
      hasPin: meeting.pin !== undefined,
      createdAt: new Date(meeting.createdAt).toISOString(),
      ...(meeting.endedAt !== undefined ? { endedAt: new Date(meeting.endedAt).toISOString() } : {}),
    };
  }

  private async unusedId(): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = newMeetingId();
      if (!(await this.store.getMeeting(id))) return id;
    }
    throw new GatewayError('unavailable', 'could not find an unused meeting id; try again');
  }
}
