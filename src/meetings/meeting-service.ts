/**
 * Meetings: creation, lookup and ending. The records live in the store; ending a meeting
 * also tells the listeners (the rooms, later the phone calls) so they disconnect everyone.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayStore, Meeting, Participant } from '../store/store.js';
import { isKeypadDigits, isMeetingId, newDialInCode, newMeetingId } from './meeting-id.js';

export interface MeetingView {
  readonly id: string;
  readonly title: string;
  readonly sipUri: string;
  readonly joinUrl: string;
  readonly hasPin: boolean;
  /** What a PSTN caller types in the IVR. */
  readonly dialInCode?: string;
  readonly createdAt: string;
  readonly endedAt?: string;
}

export interface NewMeeting {
  readonly id?: string;
  readonly title?: string;
  readonly pin?: string;
}

export type MeetingState = 'active' | 'ended' | 'unknown';

type Creation = 'created' | 'id-taken' | 'code-taken';

/** Random ids and codes clash rarely; a clash is retried this often before giving up. */
const CREATE_ATTEMPTS = 5;

type EndListener = (meetingId: string, reason: string) => Promise<void> | void;

export class MeetingService {
  private readonly endListeners: EndListener[] = [];

  constructor(
    private readonly store: GatewayStore,
    private readonly addresses: { sipDomain: string; publicUrl: string },
    private readonly log: Logger,
  ) {}

  /**
   * Creates the meeting with its dial-in code. A numeric id is its own code, so meeting ids
   * and codes share one keypad namespace and the IVR never finds two meetings for one entry.
   */
  async create(request: NewMeeting): Promise<Meeting> {
    if (request.id !== undefined && !isMeetingId(request.id)) {
      throw new GatewayError('bad_request', 'meeting id must be 3 to 64 characters of A-Z, a-z, 0-9, "_" or "-"');
    }
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const id = request.id ?? newMeetingId();
      const meeting: Meeting & { dialInCode: string } = {
        id,
        title: request.title?.trim() || `Meeting ${id}`,
        ...(request.pin ? { pin: request.pin } : {}),
        dialInCode: isKeypadDigits(id) ? id : newDialInCode(),
        createdAt: Date.now(),
      };
      const creation = await this.tryCreate(meeting);
      if (creation === 'created') {
        this.log.info({ meetingId: id }, 'meeting created');
        return meeting;
      }
      if (request.id !== undefined && creation === 'id-taken') throw new GatewayError('conflict', `meeting "${id}" already exists`);
      if (request.id !== undefined && meeting.dialInCode === id) {
        throw new GatewayError('conflict', `"${id}" is already the dial-in code of another meeting`);
      }
    }
    throw new GatewayError('unavailable', 'could not find an unused meeting id and dial-in code; try again');
  }

  /** The meeting a PSTN caller reaches with these digits, ended ones included; undefined when none. */
  async findByDialInCode(digits: string): Promise<Meeting | undefined> {
    const route = await this.store.getMeetingRoute('dial-in-code', digits);
    return route && this.store.getMeeting(route.meetingId);
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
      ...(meeting.dialInCode !== undefined ? { dialInCode: meeting.dialInCode } : {}),
      createdAt: new Date(meeting.createdAt).toISOString(),
      ...(meeting.endedAt !== undefined ? { endedAt: new Date(meeting.endedAt).toISOString() } : {}),
    };
  }

  /** The code is claimed first: a meeting never exists without the code that leads to it. */
  private async tryCreate(meeting: Meeting & { dialInCode: string }): Promise<Creation> {
    const route = { kind: 'dial-in-code', key: meeting.dialInCode, meetingId: meeting.id, createdAt: meeting.createdAt } as const;
    if (!(await this.store.putMeetingRoute(route, 'create'))) {
      return (await this.store.getMeeting(meeting.id)) ? 'id-taken' : 'code-taken';
    }
    if (await this.store.createMeeting(meeting)) return 'created';
    await this.store.deleteMeetingRoute('dial-in-code', route.key);
    return 'id-taken';
  }
}
