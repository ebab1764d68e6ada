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
import type { Rooms } from '../meetings/rooms.js';
import type { GatewayStore } from '../store/store.js';
import { callerDisplayName } from './caller-name.js';
import { PhoneCall } from './phone-call.js';
import { answerOffer } from './sdp/answer-offer.js';
import type { CodecName } from './sdp/codecs.js';
import type { SipAuthenticator } from './sip-authenticator.js';
import type { SipCredentials } from './sip-credentials.js';
import { sipWarning } from './sip-warning.js';
import { type SipRequest, type SipResponse, type SrfApp, repeatedHeader } from './srf.js';

export interface DialInDeps {
  readonly srf: SrfApp;
  readonly authenticator: SipAuthenticator;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly store: GatewayStore;
  readonly sipCredentials: Pick<SipCredentials, 'mayEnter'>;
  readonly calls: Map<string, PhoneCall>;
  readonly sipDomain: string;
  readonly codecs: readonly CodecName[];
  readonly media: { readonly listenIp: string; readonly announcedIp: string; readonly minPort: number; readonly maxPort: number };
  readonly nodeId: string;
  readonly log: Logger;
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
    answer(deps, request, response, { callId, meetingId, log, isCancelled: () => cancelled }).catch((err: unknown) => {
      reject(response, err, deps.sipDomain, log);
    });
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
  if (!deps.sipCredentials.mayEnter(credential, meetingId)) {
    throw new GatewayError('forbidden', 'credential is not valid for this meeting');
  }
  const meeting = await deps.meetings.getJoinable(meetingId);

  const preference = deps.codecs;
  if (!request.body) throw new GatewayError('not_acceptable', 'an INVITE without SDP (late offer) is not supported yet');
  const offer = answerOffer(request.body, { ip: deps.media.announcedIp, port: PROBE_PORT, preference });

  const room = await deps.rooms.room(meeting.id);
  if (attempt.isCancelled()) return;
  let call: PhoneCall | undefined;
  const channel: MemberChannel = {
    notify: () => undefined,
    disconnect: (reason) => void call?.close({ by: 'gateway', reason }),
  };
  const media = await PhoneMedia.open({
    room,
    identity: { id: randomUUID(), displayName: callerDisplayName(request.getParsedHeader('from')), kind: 'phone' },
    channel,
    codec: offer.codec,
    telephoneEvent: offer.telephoneEvent,
    remote: undefined,
    rtp: { listenIp: deps.media.listenIp, minPort: deps.media.minPort, maxPort: deps.media.maxPort },
    log,
  });
  try {
    if (attempt.isCancelled()) throw new GatewayError('gone', 'cancelled');
    const sdp = answerOffer(request.body, { ip: deps.media.announcedIp, port: media.port, preference, origin: offer.origin });
    const dialog = await deps.srf.createUAS(request, response, { localSdp: sdp.sdp, headers: { 'X-Meeting-Id': meeting.id } });
    // A CANCEL that crossed our 200 won: drachtio already answered 487, so there is no call.
    if (attempt.isCancelled()) throw new GatewayError('gone', 'cancelled');
    call = new PhoneCall(dialog, media, {
      callId,
      meetingId: meeting.id,
      store: deps.store,
      log,
      sdp: { ip: deps.media.announcedIp, preference, origin: sdp.origin, answer: sdp.sdp },
      warningAgent: deps.sipDomain,
      telephoneEvent: sdp.telephoneEvent,
    });
    deps.calls.set(callId, call);
    void call.whenEnded().then(() => deps.calls.delete(callId));
    await deps.store.putCall({
      callId,
      meetingId: meeting.id,
      nodeId: deps.nodeId,
      caller: media.member.displayName,
      codec: sdp.codec.name,
      startedAt: Date.now(),
    });
    log.info({ username: credential.username, codec: sdp.codec.name, ptime: sdp.ptime, rtpPort: media.port }, 'call answered');
  } catch (err) {
    media.close(attempt.isCancelled() ? 'cancelled' : 'answer failed');
    if (attempt.isCancelled()) return;
    throw err;
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
