/**
 * A PSTN call through Twilio, from webhook to <Dial>: which meeting the caller wants
 * (the number they called, or the IVR's questions), whether they may enter, and the
 * single-use SIP credential Twilio dials in with. Each webhook request is one step; the
 * answer is the next step, which the HTTP side renders as TwiML. What became of each
 * call is recorded for GET /api/twilio/calls.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sameSecret } from '../same-secret.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import { CALLER_NUMBER_HEADER, WEBHOOK_CALL_SID_HEADER } from '../sip/twilio-headers.js';
import type { GatewayStore, Meeting, TwilioCallRecord, TwilioCallUpdate } from '../store/store.js';
import type { CallerLockout } from './caller-lockout.js';
import type { PhoneNumbers } from './phone-numbers.js';

/** The webhook parameters every step needs. */
export interface TwilioCall {
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
}

export type IvrQuestion = { readonly kind: 'meeting-id' } | { readonly kind: 'pin'; readonly meetingId: string };

export type HangUpReason = 'not-connected' | 'meeting-ended' | 'too-many-wrong-entries' | 'locked-out';

export type TwilioStep =
  /** wrongEntries > 0: the previous entry was wrong, and the question is asked again. */
  | { readonly kind: 'ask'; readonly question: IvrQuestion; readonly wrongEntries: number }
  | { readonly kind: 'dial'; readonly sipUri: string; readonly username: string; readonly password: string }
  | { readonly kind: 'hang-up'; readonly reason: HangUpReason };

/** A wrong entry is asked again this many times; the next wrong one ends the call. */
export const IVR_REPROMPTS = 3;

const PHONE_NUMBER = /^\+?\d{3,20}$/;

export interface TwilioDialInOptions {
  /** false: a call to a number without a meeting is told so and ended, nothing is asked. */
  readonly ivr: boolean;
}

export class TwilioDialIn {
  constructor(
    private readonly deps: {
      readonly meetings: Pick<MeetingService, 'get' | 'findByDialInCode'>;
      readonly phoneNumbers: Pick<PhoneNumbers, 'meetingIdFor'>;
      readonly credentials: Pick<SipCredentials, 'mintForTwilioCall'>;
      readonly lockout: CallerLockout;
      readonly store: Pick<GatewayStore, 'updateTwilioCall' | 'listTwilioCalls'>;
      readonly log: Logger;
      /** The SIP URI of the node hosting a meeting when another node does: Twilio dials that node directly. */
      readonly ownerElsewhere?: (meetingId: string) => Promise<string | undefined>;
    },
    private readonly options: TwilioDialInOptions,
  ) {}

  /** The voice webhook: a call has arrived. */
  async callArrived(call: TwilioCall): Promise<TwilioStep> {
    await this.record(call, { from: call.from, to: call.to });
    if (await this.deps.lockout.isLockedOut(call.from)) return this.end(call, 'locked-out');
    const meetingId = await this.deps.phoneNumbers.meetingIdFor(call.to);
    if (meetingId !== undefined) return this.enter(call, await this.meeting(call, meetingId));
    if (!this.options.ivr) return this.end(call, 'not-connected');
    return { kind: 'ask', question: { kind: 'meeting-id' }, wrongEntries: 0 };
  }

  /** The IVR's meeting-id question was answered (digits may be empty: nothing was typed). */
  async meetingIdEntered(call: TwilioCall, digits: string, wrongEntries: number): Promise<TwilioStep> {
    // Codes are digits only, so anything else (nothing typed, "*") finds no meeting.
    const meeting = await this.deps.meetings.findByDialInCode(digits);
    if (!meeting) return this.wrongEntry(call, { kind: 'meeting-id' }, wrongEntries);
    return this.enter(call, meeting);
  }

  async pinEntered(call: TwilioCall, meetingId: string, digits: string, wrongEntries: number): Promise<TwilioStep> {
    const meeting = await this.meeting(call, meetingId);
    if (!meeting || meeting.endedAt !== undefined) return this.end(call, 'meeting-ended', meetingId);
    if (meeting.pin === undefined || !sameSecret(meeting.pin, digits)) return this.wrongEntry(call, { kind: 'pin', meetingId }, wrongEntries);
    return this.dial(call, meeting);
  }

  /** Twilio's status callback: the call's progress or its end. */
  async statusChanged(callSid: string, status: string, durationSeconds: number | undefined): Promise<void> {
    await this.deps.store.updateTwilioCall(callSid, { status, ...(durationSeconds !== undefined ? { durationSeconds } : {}) }, Date.now());
    this.deps.log.info({ callSid, status, durationSeconds }, 'Twilio call status');
  }

  /** Newest first. */
  recentCalls(limit: number): Promise<TwilioCallRecord[]> {
    return this.deps.store.listTwilioCalls(limit);
  }

  /**
   * The meeting, or undefined when it does not exist: the caller is told so. Any other
   * failure (the store unreachable, a bug) must not pass for a missing meeting: it is
   * logged here with the call, and the webhook answers 503 so Twilio falls back.
   */
  private async meeting(call: TwilioCall, meetingId: string): Promise<Meeting | undefined> {
    try {
      return await this.deps.meetings.get(meetingId);
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'not_found') return undefined;
      this.deps.log.error({ callSid: call.callSid, meetingId, err }, 'meeting lookup failed; the Twilio call cannot be connected');
      throw new GatewayError('unavailable', 'the meeting cannot be looked up right now');
    }
  }

  private async enter(call: TwilioCall, meeting: Meeting | undefined): Promise<TwilioStep> {
    if (!meeting) return this.end(call, 'not-connected');
    if (meeting.endedAt !== undefined) return this.end(call, 'meeting-ended', meeting.id);
    if (meeting.pin !== undefined) return { kind: 'ask', question: { kind: 'pin', meetingId: meeting.id }, wrongEntries: 0 };
    return this.dial(call, meeting);
  }

  private async wrongEntry(call: TwilioCall, question: IvrQuestion, wrongEntries: number): Promise<TwilioStep> {
    const lockedOut = await this.deps.lockout.recordFailure(call.from);
    this.deps.log.info({ callSid: call.callSid, question: question.kind, wrongEntries: wrongEntries + 1 }, 'wrong IVR entry');
    if (lockedOut) return this.end(call, 'locked-out');
    if (wrongEntries >= IVR_REPROMPTS) return this.end(call, 'too-many-wrong-entries');
    return { kind: 'ask', question, wrongEntries: wrongEntries + 1 };
  }

  private async dial(call: TwilioCall, meeting: Meeting): Promise<TwilioStep> {
    const credential = await this.deps.credentials.mintForTwilioCall({ meetingId: meeting.id, callSid: call.callSid });
    // Straight to the node hosting the meeting, when another one does: no hand-off on the way.
    const owner = await this.deps.ownerElsewhere?.(meeting.id);
    const sipUri = owner ? `sip:${encodeURIComponent(meeting.id)}@${owner.replace(/^sips?:/i, '')}` : credential.sipUri;
    const headers: Array<[string, string]> = [[WEBHOOK_CALL_SID_HEADER, call.callSid]];
    if (PHONE_NUMBER.test(call.from)) headers.push([CALLER_NUMBER_HEADER, call.from]);
    await this.record(call, { meetingId: meeting.id, outcome: 'dialed' });
    this.deps.log.info({ callSid: call.callSid, meetingId: meeting.id, username: credential.username }, 'Twilio call dialed into the meeting');
    return {
      kind: 'dial',
      // URI headers (RFC 3261 §19.1.1), which Twilio copies into its INVITE.
      sipUri: `${sipUri}?${headers.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&')}`,
      username: credential.username,
      password: credential.password,
    };
  }

  private async end(call: TwilioCall, reason: HangUpReason, meetingId?: string): Promise<TwilioStep> {
    await this.record(call, { outcome: reason, ...(meetingId !== undefined ? { meetingId } : {}) });
    this.deps.log.info({ callSid: call.callSid, meetingId, reason }, 'Twilio call turned away');
    return { kind: 'hang-up', reason };
  }

  private record(call: TwilioCall, update: TwilioCallUpdate): Promise<void> {
    return this.deps.store.updateTwilioCall(call.callSid, update, Date.now());
  }
}
