/**
 * An incoming INVITE, from request to answered call, in one direction: authenticate
 * (nothing else is spent on a caller who has not), find the meeting, check the
 * credential may enter it and the meeting has room, negotiate the SDP, open the media,
 * answer. A failure at any step becomes one SIP answer, mapped here and only here.
 */
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { type Logger, callLogger } from '../logger.js';
import { PhoneMedia } from '../media/phone-media.js';
import type { MemberChannel } from '../media/room-member.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { Rooms } from '../media/rooms.js';
import type { GatewayStore, SipCredential } from '../store/store.js';
import { callerDisplayName } from './caller-name.js';
import { PhoneCall } from './phone-call.js';
import { answerOffer } from '../media/sdp/answer-offer.js';
import type { CodecName } from '../media/sdp/codecs.js';
import { acceptAnswer, createOffer } from '../media/sdp/late-offer.js';
import type { NegotiatedMedia } from '../media/sdp/negotiated-media.js';
import type { SipAuthenticator } from './sip-authenticator.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import { sipWarning } from './sip-warning.js';
import { CALLER_NUMBER_HEADER, TWILIO_CALL_SID_HEADER, WEBHOOK_CALL_SID_HEADER } from './twilio-headers.js';
import { type SipRequest, type SipResponse, type SrfApp, repeatedHeader } from './srf.js';

export interface DialInDeps {
  readonly srf: SrfApp;
  readonly authenticator: SipAuthenticator;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly store: GatewayStore;
  readonly sipCredentials: Pick<SipCredentials, 'admit'>;
  readonly calls: Map<string, PhoneCall>;
  readonly sipDomain: string;
  readonly codecs: readonly CodecName[];
  readonly media: {
    readonly listenIp: string;
    readonly announcedIp: string;
    readonly minPort: number;
    readonly maxPort: number;
    /** RTP_COMEDIA: send where the phone's RTP comes from. */
    readonly latch: boolean;
  };
  readonly nodeId: string;
  readonly log: Logger;
}

/**
 * Twilio's INVITE comes from Twilio's own From; the PSTN caller's number travels in
 * X-Caller-Number, trusted only on a credential our webhook minted.
 */
function callerName(request: SipRequest, credential: SipCredential): string {
  const number = credential.twilioCall ? request.get(CALLER_NUMBER_HEADER) : undefined;
  return callerDisplayName(number ? { uri: `tel:${number}` } : request.getParsedHeader('from'));
}

/** Our SDP port before media exists: the offer is validated before anything is allocated. */
const PROBE_PORT = 9;

export function dialIn(deps: DialInDeps): (request: SipRequest, response: SipResponse) => void {
  return (request, response) => {
    const callId = request.get('Call-ID') ?? 'unknown';
    const meetingId = meetingIdOf(request.uri);
    const log = callLogger(deps.log, { callId, meetingId });
    let cancelled = false;
    // Registered first: a CANCEL that arrives during the lookups below must not be lost.
    request.once('cancel', () => {
      cancelled = true;
      log.info('caller cancelled before answer');
    });
    answer(deps, request, response, { callId, meetingId, log, isCancelled: () => cancelled }).then(
      () => {
        if (cancelled) log.info('call set-up stopped: the caller cancelled');
      },
      (err: unknown) => reject(response, err, deps.sipDomain, log),
    );
  };
}

interface Attempt {
  readonly callId: string;
  readonly meetingId: string;
  readonly log: Logger;
  isCancelled(): boolean;
}

async function answer(deps: DialInDeps, request: SipRequest, response: SipResponse, attempt: Attempt): Promise<void> {
  const { callId, meetingId, log } = attempt;
  const auth = await deps.authenticator.authenticate(request);
  if (!auth.ok) {
    log.info({ status: auth.status, reason: auth.reason }, 'INVITE not authenticated');
    response.send(auth.status, auth.reason, auth.status === 401 ? { headers: repeatedHeader('WWW-Authenticate', auth.challenge) } : {});
    return;
  }
  const { credential } = auth;
  await deps.sipCredentials.admit(credential, meetingId, {
    callSid: request.get(TWILIO_CALL_SID_HEADER),
    webhookCallSid: request.get(WEBHOOK_CALL_SID_HEADER),
  });
  const meeting = await deps.meetings.getJoinable(meetingId);

  const preference = deps.codecs;
  // An offer is checked before anything is allocated; a late offer is checked at the ACK.
  const probe = request.body ? answerOffer(request.body, { ip: deps.media.announcedIp, port: PROBE_PORT, preference }) : undefined;

  if (attempt.isCancelled()) return;
  const room = await deps.rooms.room(meeting.id);
  if (attempt.isCancelled()) return;
  let call: PhoneCall | undefined;
  const channel: MemberChannel = {
    notify: () => undefined,
    disconnect: (reason, _cause, error) => void call?.close({ by: 'gateway', reason, error }),
  };
  const media = await PhoneMedia.open({
    room,
    identity: { id: randomUUID(), displayName: callerName(request, credential), kind: 'phone' },
    channel,
    rtp: { listenIp: deps.media.listenIp, minPort: deps.media.minPort, maxPort: deps.media.maxPort },
    latch: deps.media.latch,
  });
  call = new PhoneCall(media, { callId, meetingId: meeting.id, store: deps.store, log, warningAgent: deps.sipDomain });
  const phoneCall = call;
  try {
    // The call is registered before our 200 can reach the caller, so whatever the caller
    // does next finds it; every failure from here on ends it through close().
    deps.calls.set(callId, phoneCall);
    void phoneCall.whenEnded().then(() => deps.calls.delete(callId));
    if (attempt.isCancelled()) throw new GatewayError('gone', 'cancelled');
    const local = { ip: deps.media.announcedIp, port: media.port, preference };
    const uas = (localSdp: string) => ({ localSdp, headers: { 'X-Meeting-Id': meeting.id } });
    // Recorded once the codec is known, and (issued before any close() can remove it) never left behind.
    const record = (codec: NegotiatedMedia['codec']) =>
      deps.store.putCall({ callId, meetingId: meeting.id, nodeId: deps.nodeId, caller: media.member.displayName, codec: codec.name, startedAt: Date.now() });
    let negotiated: NegotiatedMedia;
    if (request.body) {
      const answer = answerOffer(request.body, { ...local, origin: probe!.origin });
      negotiated = answer;
      // Media first, so the caller's first packets after our 200 already reach the meeting.
      await media.start(answer);
      await record(answer.codec);
      phoneCall.run({ ip: local.ip, preference, origin: answer.origin, answer: answer.sdp, telephoneEvent: answer.telephoneEvent });
      if (phoneCall.closed) throw new GatewayError('gone', 'the call ended before it was answered');
      await phoneCall.answer(deps.srf, request, response, uas(answer.sdp));
    } else {
      const offer = createOffer(local);
      if (phoneCall.closed) throw new GatewayError('gone', 'the call ended before it was answered');
      await phoneCall.answer(deps.srf, request, response, uas(offer.sdp));
      const ack = await phoneCall.ack();
      if (!ack) return;
      negotiated = acceptAnswer(offer, ack.body ?? '');
      await record(negotiated.codec);
      await media.start(negotiated);
      phoneCall.run({ ip: local.ip, preference, origin: offer.origin, answer: offer.sdp, telephoneEvent: negotiated.telephoneEvent });
    }
    if (phoneCall.closed) return;
    log.info(
      { username: credential.username, codec: negotiated.codec.name, ptime: negotiated.ptime, rtpPort: media.port, lateOffer: !request.body },
      'call answered',
    );
  } catch (err) {
    if (attempt.isCancelled()) return void phoneCall.close({ by: 'caller', reason: 'CANCEL' });
    if (!response.finalResponseSent) {
      // reject() answers the INVITE.
      void phoneCall.close({ by: 'gateway', reason: 'answer failed' });
      throw err;
    }
    if (phoneCall.closed) return;
    // After our 200 the call is ended with a BYE that says why (RFC 3261 §13.3.1.4: an
    // ACK whose answer we cannot use cannot be refused, ACKs have no response).
    if (!(err instanceof GatewayError)) log.error({ err }, 'call set-up failed after the answer');
    void phoneCall.close({ by: 'gateway', reason: err instanceof Error ? err.message : 'answer failed', ...(err instanceof GatewayError && { error: err }) });
  }
}

/** The one place a failed INVITE becomes a SIP answer. */
function reject(response: SipResponse, err: unknown, warningAgent: string, log: Logger): void {
  if (response.finalResponseSent) {
    log.error({ err }, 'call set-up failed after the answer');
    return;
  }
  if (err instanceof GatewayError) {
    log.info({ status: err.sipStatus, reason: err.message }, 'INVITE refused');
    response.send(err.sipStatus, reasonPhrase(err), { headers: { Warning: sipWarning(err, warningAgent) } });
    return;
  }
  log.error({ err }, 'INVITE failed');
  response.send(500, 'Server Error');
}

const REASON_PHRASES: Partial<Record<GatewayError['code'], string>> = {
  not_found: 'Meeting Not Found',
  gone: 'Meeting Ended',
  busy: 'Meeting Full',
  forbidden: 'Forbidden',
  not_acceptable: 'Not Acceptable Here',
  bad_request: 'Bad Request',
  unavailable: 'Service Unavailable',
};

function reasonPhrase(err: GatewayError): string {
  return REASON_PHRASES[err.code] ?? 'Server Error';
}

/** The meeting id is the Request-URI's user part: sip:<meetingId>@domain. */
function meetingIdOf(uri: string): string {
  const user = /^sips?:([^@;?]+)@/i.exec(uri)?.[1] ?? '';
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}
