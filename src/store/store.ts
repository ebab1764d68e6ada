/**
 * Shared state behind one small interface: in memory for a single node, in Redis when
 * several nodes serve the same meetings. Records are plain JSON-safe objects.
 */

export interface Meeting {
  readonly id: string;
  readonly title: string;
  /** Digits a PSTN caller enters; absent when the meeting has none. */
  readonly pin?: string;
  readonly createdAt: number;
  /** Set once the meeting has been ended; an ended meeting cannot be joined again. */
  readonly endedAt?: number;
}

/** A SIP digest credential. The password itself is never stored, only its HA1 digests. */
export interface SipCredential {
  readonly username: string;
  readonly realm: string;
  readonly ha1Md5: string;
  readonly ha1Sha256: string;
  /** Absent: the credential may enter any meeting. */
  readonly meetingId?: string;
  readonly createdAt: number;
}

export interface ActiveCall {
  readonly callId: string;
  readonly meetingId: string;
  /** The gateway node that holds the call's media. */
  readonly nodeId: string;
  readonly caller: string;
  readonly codec: string;
  readonly startedAt: number;
}

export type ParticipantKind = 'browser' | 'phone';

export interface Participant {
  readonly id: string;
  readonly meetingId: string;
  readonly displayName: string;
  readonly kind: ParticipantKind;
  readonly muted: boolean;
  readonly nodeId: string;
  readonly joinedAt: number;
}

export interface GatewayStore {
  /** Stores a new meeting; false when the id is already taken (ended meetings included). */
  createMeeting(meeting: Meeting): Promise<boolean>;
  getMeeting(id: string): Promise<Meeting | undefined>;
  listMeetings(): Promise<Meeting[]>;
  /** Marks the meeting ended; returns it, or undefined when it does not exist. */
  endMeeting(id: string, endedAt: number): Promise<Meeting | undefined>;

  /** Stores a new credential; false when the username is taken. */
  addCredential(credential: SipCredential): Promise<boolean>;
  getCredential(username: string): Promise<SipCredential | undefined>;
  listCredentials(): Promise<SipCredential[]>;
  /** false when there was no such credential. */
  deleteCredential(username: string): Promise<boolean>;

  putCall(call: ActiveCall): Promise<void>;
  getCall(callId: string): Promise<ActiveCall | undefined>;
  /** All active calls, or those of one meeting. */
  listCalls(meetingId?: string): Promise<ActiveCall[]>;
  /** false when there was no such call. */
  removeCall(callId: string): Promise<boolean>;

  /** Adds or replaces a participant (mute changes replace it). */
  putParticipant(participant: Participant): Promise<void>;
  listParticipants(meetingId: string): Promise<Participant[]>;
  /** false when there was no such participant. */
  removeParticipant(meetingId: string, participantId: string): Promise<boolean>;

  /** Resolves when the backing store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
