/**
 * Shared state behind one small interface: in memory for a single node, in Redis when
 * several nodes serve the same meetings. Records are plain JSON-safe objects.
 */

export interface Meeting {
  readonly id: string;
  readonly title: string;
  /** Digits a PSTN caller enters; absent when the meeting has none. */
  readonly pin?: string;
  /** What a PSTN caller types to reach the meeting: its id when that is numeric, else a code of its own. */
  readonly dialInCode?: string;
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
  /** Set on a credential minted for one Twilio call: it expires and admits one INVITE. */
  readonly twilioCall?: { readonly callSid: string; readonly expiresAt: number };
  readonly createdAt: number;
}

/** A way to a meeting from a phone: the number that was called, or a code typed on the keypad. */
export type MeetingRouteKind = 'phone-number' | 'dial-in-code';

export interface MeetingRoute {
  readonly kind: MeetingRouteKind;
  /** An E.164 number ('+4930123456') or keypad digits. */
  readonly key: string;
  readonly meetingId: string;
  readonly createdAt: number;
}

/** What became of one Twilio call, merged from the webhooks about it. */
export interface TwilioCallRecord {
  readonly callSid: string;
  readonly from?: string;
  readonly to?: string;
  readonly meetingId?: string;
  /** How the gateway answered: 'dialed', or why it hung up. */
  readonly outcome?: string;
  /** Twilio's CallStatus from the status callback ('completed', 'busy', ...). */
  readonly status?: string;
  readonly durationSeconds?: number;
  readonly firstSeenAt: number;
  readonly updatedAt: number;
}

export type TwilioCallUpdate = Partial<Omit<TwilioCallRecord, 'callSid' | 'firstSeenAt' | 'updatedAt'>>;

/** How many Twilio call records are kept; older ones are dropped. */
export const TWILIO_CALLS_KEPT = 1000;

export interface ActiveCall {
  readonly callId: string;
  readonly meetingId: string;
  /** The gateway node that holds the call's media. */
  readonly nodeId: string;
  /** The node that authenticated the call and proxied it here (its drachtio-server relays the dialog); absent for a call taken directly. */
  readonly viaNodeId?: string;
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

/**
 * An outbound SIP trunk (a carrier or PBX the gateway dials numbers through). The
 * password is kept as given (a digest answer needs it) and never leaves through the API.
 */
export interface Trunk {
  readonly id: string;
  /** `sip:host[:port][;transport=udp|tcp|tls]` or `sips:host[:port]`. */
  readonly address: string;
  readonly username?: string;
  readonly password?: string;
  /** The user part of our From on calls through it (the number the callee sees). */
  readonly callerId?: string;
  /** Numbers it may call start with one of these; empty: any number. */
  readonly allowedPrefixes: readonly string[];
  /** REGISTER with the trunk for this many seconds, refreshed before they run out. */
  readonly register?: { readonly expires: number };
  readonly createdAt: number;
}

/** A webhook event waiting for its (next) delivery attempt. */
export interface PendingWebhook {
  /** The event's id, which its body carries too. */
  readonly id: string;
  /** The event's type, for log lines. */
  readonly type: string;
  /** The JSON posted, byte for byte the same on every attempt. */
  readonly body: string;
  /** When the event was queued (epoch ms): retries end 24 h after it. */
  readonly createdAt: number;
  /** Attempts made so far. */
  readonly attempts: number;
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

  /** Stores a new trunk; false when the id is taken. */
  addTrunk(trunk: Trunk): Promise<boolean>;
  getTrunk(id: string): Promise<Trunk | undefined>;
  listTrunks(): Promise<Trunk[]>;
  /** false when there was no such trunk. */
  deleteTrunk(id: string): Promise<boolean>;

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

  /** 'create': stores the route unless its key is taken (false then). 'replace': stores it in any case. */
  putMeetingRoute(route: MeetingRoute, mode: 'create' | 'replace'): Promise<boolean>;
  getMeetingRoute(kind: MeetingRouteKind, key: string): Promise<MeetingRoute | undefined>;
  listMeetingRoutes(kind: MeetingRouteKind): Promise<MeetingRoute[]>;
  /** false when there was no such route. */
  deleteMeetingRoute(kind: MeetingRouteKind, key: string): Promise<boolean>;

  /** Adds one to a counter that lives windowMs from its first increment; returns the new count. */
  incrementCounter(key: string, windowMs: number): Promise<number>;
  /** The counter's value; 0 when it does not exist or has expired. */
  getCounter(key: string): Promise<number>;

  /** Merges fields into the call's record, creating it; keeps the newest TWILIO_CALLS_KEPT records. */
  updateTwilioCall(callSid: string, update: TwilioCallUpdate, at: number): Promise<void>;
  /** Newest first. */
  listTwilioCalls(limit: number): Promise<TwilioCallRecord[]>;

  /** Queues a webhook, due at dueAt (epoch ms); false when maxPending are queued already. */
  addWebhook(webhook: PendingWebhook, dueAt: number, maxPending: number): Promise<boolean>;
  /**
   * Takes up to `limit` webhooks due by `now`, oldest due first, each leased: due again only
   * at now + leaseMs, so no other node (or later poll) takes it while this one tries it.
   */
  claimDueWebhooks(now: number, leaseMs: number, limit: number): Promise<PendingWebhook[]>;
  /** Stores a claimed webhook's attempts and when it is due again; a no-op when it was removed meanwhile. */
  retryWebhook(webhook: PendingWebhook, dueAt: number): Promise<void>;
  /** Removes a webhook: delivered, or given up. */
  removeWebhook(id: string): Promise<void>;

  /** Resolves when the backing store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
