/**
 * An incoming INVITE, from request to running call, as a list of steps that drive its
 * Call: authenticate (nothing else is spent on a caller who has not; a call from a trunk's
 * address is not asked, see trunk-calls.ts; one another node authenticated and handed over
 * carries its proof, see hand-off-token.ts), hand the call to the node hosting its meeting
 * when that is another one (see handToOwner), agree the session
 * timer (RFC 4028; 422 below our minimum), admit the credential to the meeting, find the
 * meeting (the call rings from here: its observers hear of it), check the offer, open the caller's RTP port, answer, and once the ACK comes
 * (with the phone's answer, for a late offer) start the media, which takes the caller's
 * place in the meeting, and record the call. A set-up that is never ACKed has held no
 * place and nobody saw it; drachtio-server's ACK timeout (or ours) ends it and frees the
 * port. The call is held from the first step; whatever ends it meanwhile (a CANCEL, the
 * meeting ending, shutdown) makes the next step stop, and a failure ends it through its
 * one close().
 */
import { randomUUID } from 'node:crypto';
import { type GatewayEnd, failureEnd, roomEnd } from '../calls/call-end.js';
import type { CallEventObserver } from '../calls/call-events.js';
import { type CallLimits, superviseCall } from '../calls/call-limits.js';
import { KeypadCommands } from '../calls/keypad-commands.js';
import type { CallRegistry } from '../calls/call-registry.js';
import { GatewayError } from '../errors.js';
import { type Logger, callLogger } from '../logger.js';
import { PhoneMedia } from '../media/phone-media.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { Room } from '../media/room.js';
import type { Rooms } from '../media/rooms.js';
import type { GatewayStore, SipCredential } from '../store/store.js';
import { type PreparedAnswer, prepareAnswer } from '../media/sdp/answer-offer.js';
import type { CodecName } from '../media/sdp/codecs.js';
import type { SrtpPolicy } from '../media/sdp/crypto-attribute.js';
import { acceptAnswer, createOffer } from '../media/sdp/late-offer.js';
import type { NegotiatedMedia } from '../media/sdp/negotiated-media.js';
import { TimeoutError } from '../timeout.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import type { CallHosts } from '../cluster/call-host.js';
import { AuthenticationRefused } from './authentication-refused.js';
import { HAND_OFF_HEADER, type HandOff, type HandOffCheck, type HandOffTokens, type HandedOffCaller, TOKEN_TTL_MS } from './hand-off-token.js';
import { RetryLaterError } from './retry-later.js';
import { callerDisplayName } from './caller-name.js';
import type { SipGuard } from './guard/sip-guard.js';
import type { SipAuthenticator } from './sip-authenticator.js';
import { type CallSession, CancelCrossedAnswer, type SipCall, SipLeg } from './sip-leg.js';
import type { SipObserver } from './sip-observer.js';
import { CALLER_NUMBER_HEADER, TWILIO_CALL_SID_HEADER, WEBHOOK_CALL_SID_HEADER } from './twilio-headers.js';
import type { SipRequest, SipResponse, SrfApp } from './srf.js';
import type { SessionTimerStart } from './dialog-session-timer.js';
import type { TrunkCall } from './trunk-calls.js';
import {
  type SessionTimerSettings,
  SessionIntervalTooSmall,
  allowsUpdate,
  negotiateSessionTimer,
  readSessionTimerRequest,
  sessionTimerResponseHeaders,
} from './session-timer.js';

/** Where a phone's RTP port is opened and announced (dial-in and dial-out alike). */
export interface PhoneMediaSettings {
  readonly listenIp: string;
  readonly announcedIp: string;
  readonly minPort: number;
  readonly maxPort: number;
  /** RTP_COMEDIA: send where the phone's RTP comes from. */
  readonly latch: boolean;
}

export interface DialInDeps {
  readonly srf: SrfApp;
  readonly authenticator: SipAuthenticator;
  readonly guard: Pick<SipGuard, 'takeCredentialSetup' | 'spendNonceIfNew' | 'callerOf'>;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly store: GatewayStore;
  readonly sipCredentials: Pick<SipCredentials, 'admit' | 'lookup'>;
  readonly calls: CallRegistry<SipLeg, PhoneMedia>;
  readonly sipDomain: string;
  readonly codecs: readonly CodecName[];
  /** SIP_SRTP. */
  readonly srtp: SrtpPolicy;
  readonly media: PhoneMediaSettings;
  readonly nodeId: string;
  readonly log: Logger;
  readonly sessionTimer: SessionTimerSettings;
  readonly callLimits: CallLimits;
  readonly observer: SipObserver;
  readonly callEvents: CallEventObserver;
  /** The trunk the INVITE comes from, and the meeting its number reaches (no digest is asked of a trunk). */
  readonly trunkCall: (request: SipRequest) => Promise<TrunkCall | undefined>;
  /** Which node sets up each meeting's calls: this one, or the owner a call is handed to. */
  readonly callHosts: CallHosts;
  readonly handOff: HandOffSettings;
}

/** How a call for a meeting another node hosts goes there (SIP_CLUSTER_MODE, SIP_CLUSTER_SECRET). */
export interface HandOffSettings {
  /** proxy: drachtio-server proxies the INVITE to the owner; redirect: a 302 to the owner. */
  readonly mode: 'proxy' | 'redirect';
  /** Unset (no SIP_CLUSTER_SECRET): no hand-off is taken from a peer, and calls are redirected, never proxied. */
  readonly tokens: HandOffTokens | undefined;
  /** The Retry-After of a handed-off call whose meeting moved away meanwhile. */
  readonly retryAfterSeconds: number;
}

/** Who the caller is: a credential that answered our challenge, or a trunk. */
type Caller = { readonly credential: SipCredential } | { readonly trunk: string };

/** The INVITE handler; its promise settles once the set-up is over (answered and running, or refused). */
export function dialIn(deps: DialInDeps): (request: SipRequest, response: SipResponse) => Promise<void> {
  return async (request, response) => {
    const callId = request.get('Call-ID') ?? 'unknown';
    const handOff = checkHandOff(deps, request, callId);
    if (handOff.kind === 'forged') {
      // No further than an INVITE without credentials gets, and no hint why.
      callLogger(deps.log, { callId, meetingId: meetingIdOf(request.uri) }).debug({ source: deps.guard.callerOf(request), reason: handOff.reason }, 'INVITE with a forged hand-off refused');
      deps.observer.inviteAnswered('rejected', 403);
      return response.send(403, 'Forbidden');
    }
    let fromTrunk: TrunkCall | undefined;
    try {
      // Before the call opens: a trunk's call is in the meeting its number reaches (a handed-off one: the token says).
      if (handOff.kind === 'none') fromTrunk = await deps.trunkCall(request);
    } catch (err) {
      callLogger(deps.log, { callId, meetingId: meetingIdOf(request.uri) }).error({ err }, 'looking up the trunks failed');
      deps.observer.inviteAnswered('rejected', 503);
      return response.send(503, 'Service Unavailable');
    }
    const handedOff = handOff.kind === 'valid' ? handOff.handOff : undefined;
    const meetingId = handedOff?.meetingId ?? fromTrunk?.meetingId ?? meetingIdOf(request.uri);
    const log = callLogger(deps.log, { callId, meetingId });
    // A second INVITE of a call still in progress (a merged request, RFC 3261 §8.2.2.2).
    if (deps.calls.get(callId)?.isOpen) {
      log.warn('INVITE for a call already in progress');
      deps.observer.inviteAnswered('rejected', 482);
      return response.send(482, 'Loop Detected');
    }
    const leg = new SipLeg({ kind: 'dial-in', request, response }, { log, warningAgent: deps.sipDomain, observer: deps.observer });
    const call = deps.calls.open({ callId, meetingId, ...(handedOff && { viaNodeId: handedOff.fromNode }), signaling: leg, store: deps.store, log });
    leg.serve(call);
    const setUpCall = handedOff ? setUpHandedOff(deps, call, request, handedOff) : setUp(deps, call, request, response, fromTrunk);
    return setUpCall.catch((err: unknown) => {
      if (!call.isOpen) return log.debug({ reason: err instanceof Error ? err.message : String(err) }, 'call set-up stopped: the call has ended');
      // Answered 487 by drachtio-server already: never answered, no BYE, the call ends as the caller's CANCEL.
      if (err instanceof CancelCrossedAnswer) {
        call.answerCrossed();
        return call.close({ by: 'caller', reason: 'CANCEL' });
      }
      if (!isExpected(err)) log.error({ err }, 'call set-up failed');
      return call.close(setUpEnd(err));
    });
  };
}

async function setUp(deps: DialInDeps, call: SipCall, request: SipRequest, response: SipResponse, fromTrunk: TrunkCall | undefined): Promise<void> {
  if (fromTrunk) {
    if (await handToOwner(deps, call, request, response, { trunk: fromTrunk.trunk })) return;
    return setUpAuthenticated(deps, call, request, { trunk: fromTrunk.trunk });
  }
  const credential = await call.step(authenticate(deps, request, call.meetingId));
  await setUpWithCredential(deps, credential, async () => {
    if (await handToOwner(deps, call, request, response, { username: credential.username })) return;
    await setUpAuthenticated(deps, call, request, { credential });
  });
}

/** Within the credential's limit of set-ups at once. */
async function setUpWithCredential(deps: DialInDeps, credential: SipCredential, work: () => Promise<void>): Promise<void> {
  const release = deps.guard.takeCredentialSetup(credential.username);
  if (!release) throw new GatewayError('unavailable', 'too many call set-ups with this credential at once');
  try {
    await work();
  } finally {
    release();
  }
}

/** What the INVITE's hand-off header says; from anyone but a peer holding the cluster secret, a forgery. */
function checkHandOff(deps: DialInDeps, request: SipRequest, callId: string): HandOffCheck {
  const header = request.get(HAND_OFF_HEADER);
  if (header === undefined) return { kind: 'none' };
  const { tokens } = deps.handOff;
  if (!tokens) return { kind: 'forged', reason: 'no SIP_CLUSTER_SECRET: hand-offs are not taken' };
  return tokens.check(header, { callId, fromTag: fromTag(request) });
}

/**
 * A call for a meeting another node hosts goes there once its caller is authenticated:
 * proxied (the owner answers, and the dialog runs between the caller and the owner) or
 * redirected with a 302 to the owner. true when it was handed off (this node is done with
 * it), false when it is set up here. A meeting whose owner is gone or draining is refused
 * with 503 and Retry-After rather than opened a second time here.
 */
async function handToOwner(deps: DialInDeps, call: SipCall, request: SipRequest, response: SipResponse, caller: HandedOffCaller): Promise<boolean> {
  const host = await call.step(deps.callHosts.hostFor(call.meetingId));
  if (host.kind === 'here') return false;
  if (host.kind === 'unavailable') throw new RetryLaterError(host.reason, host.retryAfterSeconds);
  const { tokens } = deps.handOff;
  const proxied = deps.handOff.mode === 'proxy' && tokens !== undefined;
  if (proxied) {
    const token = tokens.issue({ callId: call.callId, fromTag: fromTag(request) }, { fromNode: deps.nodeId, meetingId: call.meetingId, caller });
    const log = call.log.child({ ownerNodeId: host.nodeId });
    // drachtio-server puts the destination in the Request-URI of a request addressed to itself: it keeps the meeting's user part so.
    // Record-Route keeps this node's drachtio-server in the dialog's path (this app keeps no call):
    // the owner's in-dialog requests are sent to where the INVITE came from, which is here.
    deps.srf.proxyRequest(request, ownerContact(request.uri, host.sipUri), { recordRoute: true, headers: { [HAND_OFF_HEADER]: token } }).then(
      (results) => log.debug({ finalStatus: results.finalStatus }, 'proxied call answered by the owner'),
      (err: unknown) => log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'proxying the call to the owner failed'),
    );
  } else {
    response.send(302, 'Moved Temporarily', { headers: { Contact: `<${ownerContact(request.uri, host.sipUri)}>` } });
    deps.observer.inviteAnswered('rejected', 302);
  }
  const mode = proxied ? 'proxied' : 'redirected';
  call.log.info({ ownerNodeId: host.nodeId, ownerSipUri: host.sipUri, mode }, 'call handed to the node hosting the meeting');
  await call.close({ by: 'hand-off', reason: `${mode} to node ${host.nodeId}, which hosts the meeting` });
  return true;
}

/**
 * A call another node authenticated and proxied here: the caller is not challenged again.
 * The token is spent first, in one store step (a copy of it, even one arriving at the same
 * instant, is refused as a forgery), and the call is set up only if this node hosts the
 * meeting: never handed on a second time.
 */
async function setUpHandedOff(deps: DialInDeps, call: SipCall, request: SipRequest, handOff: HandOff): Promise<void> {
  if (!(await call.step(deps.guard.spendNonceIfNew(handOff.mac, TOKEN_TTL_MS)))) throw new AuthenticationRefused({ ok: false, status: 403, reason: 'Forbidden' });
  const host = await call.step(deps.callHosts.hostFor(call.meetingId));
  if (host.kind !== 'here') throw new RetryLaterError(`meeting "${call.meetingId}" moved to another node while the call was handed over`, deps.handOff.retryAfterSeconds);
  call.log.info({ fromNodeId: handOff.fromNode }, 'call handed over by the node that authenticated it');
  if ('trunk' in handOff.caller) return setUpAuthenticated(deps, call, request, { trunk: handOff.caller.trunk });
  const stored = await call.step(deps.sipCredentials.lookup(handOff.caller.username));
  // Revoked (or out of scope) since the peer checked it: refused as a wrong password is.
  const credential = stored && (stored.meetingId === undefined || stored.meetingId === call.meetingId) ? stored : undefined;
  if (!credential) throw new AuthenticationRefused({ ok: false, status: 403, reason: 'Wrong Credentials' });
  await setUpWithCredential(deps, credential, () => setUpAuthenticated(deps, call, request, { credential }));
}

function fromTag(request: SipRequest): string {
  return request.getParsedHeader('from').params?.tag ?? '';
}

/** The owner's SIP address with the Request-URI's user part: sip:<meetingId>@<owner host:port>. */
function ownerContact(requestUri: string, ownerSipUri: string): string {
  const user = /^sips?:([^@;?]+)@/i.exec(requestUri)?.[1];
  const hostport = ownerSipUri.replace(/^sips?:/i, '');
  return user ? `sip:${user}@${hostport}` : `sip:${hostport}`;
}

async function setUpAuthenticated(deps: DialInDeps, call: SipCall, request: SipRequest, from: Caller): Promise<void> {
  const sessionTimer = agreeSessionTimer(deps, request);
  if ('credential' in from) await call.step(admit(deps, request, from.credential));
  const meeting = await call.step(deps.meetings.getJoinable(call.meetingId));
  const caller = callerName(request, 'credential' in from ? from.credential : undefined);
  call.ringing(caller);
  // An offer is checked (and negotiated) before anything is allocated; a late offer is checked at the ACK.
  const prepared = request.body ? prepareAnswer(request.body, { ip: deps.media.announcedIp, preference: deps.codecs, srtp: deps.srtp }) : undefined;
  const room = await call.step(deps.rooms.room(meeting.id));
  const media = call.adoptMedia(await openMedia(deps, call, room, caller));
  const local = { ip: deps.media.announcedIp, port: media.port, preference: deps.codecs, srtp: deps.srtp };
  const negotiated = prepared
    ? await answerEarlyOffer(deps, call, media, prepared, local, sessionTimer)
    : await answerLateOffer(deps, call, media, local, sessionTimer);
  superviseCall(call, media, deps.callLimits);
  call.log.info(
    {
      ...('credential' in from ? { username: from.credential.username } : { trunk: from.trunk }),
      codec: negotiated.codec.name,
      ptime: negotiated.ptime,
      rtpPort: media.port,
      lateOffer: !prepared,
      srtpSuite: negotiated.srtp?.suite ?? 'none',
    },
    'call answered',
  );
}

async function authenticate(deps: DialInDeps, request: SipRequest, meetingId: string): Promise<SipCredential> {
  const auth = await deps.authenticator.authenticate(request, meetingId);
  if (auth.ok) return auth.credential;
  // A first INVITE without credentials is asked for them; any other refusal is a failed digest.
  if (request.get('Authorization')) deps.observer.digestFailed(auth.reason.toLowerCase().replaceAll(' ', '_'));
  throw new AuthenticationRefused(auth);
}

/**
 * The session timer the caller asked for or supports (RFC 4028 §9), refused with 422 when
 * below our minimum; none when the caller neither asked for nor supports one.
 */
function agreeSessionTimer(deps: DialInDeps, request: SipRequest): SessionTimerStart | undefined {
  const asked = readSessionTimerRequest(request);
  const timer = negotiateSessionTimer(asked, deps.sessionTimer);
  if (timer.kind === 'too-small') throw new SessionIntervalTooSmall(asked.sessionExpires ?? 0, timer.minSE);
  if (timer.kind === 'none') return undefined;
  return { deal: timer.deal, settings: deps.sessionTimer, callerAllowsUpdate: allowsUpdate(request) };
}

function admit(deps: DialInDeps, request: SipRequest, credential: SipCredential): Promise<void> {
  return deps.sipCredentials.admit(credential, {
    callSid: request.get(TWILIO_CALL_SID_HEADER),
    webhookCallSid: request.get(WEBHOOK_CALL_SID_HEADER),
  });
}

/** The caller's port, and the room's way to end the call; its place in the room comes with start(). */
export function openMedia(deps: Pick<DialInDeps, 'media'>, call: SipCall, room: Room, displayName: string): Promise<PhoneMedia> {
  return PhoneMedia.open({
    room,
    identity: { id: randomUUID(), displayName, kind: 'phone' },
    channel: { notify: () => undefined, disconnect: (text, reason) => void call.close(roomEnd(text, reason)) },
    rtp: { listenIp: deps.media.listenIp, minPort: deps.media.minPort, maxPort: deps.media.maxPort },
    latch: deps.media.latch,
  });
}

interface LocalSdp {
  readonly ip: string;
  readonly port: number;
  readonly preference: readonly CodecName[];
  readonly srtp: SrtpPolicy;
}

/** Our answer in the 200; the media starts at the caller's ACK, when the call is up. */
async function answerEarlyOffer(
  deps: DialInDeps,
  call: SipCall,
  media: PhoneMedia,
  prepared: PreparedAnswer,
  local: LocalSdp,
  sessionTimer: SessionTimerStart | undefined,
): Promise<NegotiatedMedia> {
  const answer = prepared.answer(local.port);
  await sendAnswer(deps, call, answer.sdp, sessionTimer);
  await call.step(call.signaling.ack());
  await startMedia(deps, call, media, answer);
  call.signaling.run(media, { ...callSession(local, answer), origin: answer.origin, answer: answer.sdp });
  return answer;
}

/** Our offer in the 200, the caller's answer in its ACK (RFC 3261 §13.2.1). */
async function answerLateOffer(deps: DialInDeps, call: SipCall, media: PhoneMedia, local: LocalSdp, sessionTimer: SessionTimerStart | undefined): Promise<NegotiatedMedia> {
  const offer = createOffer(local);
  await sendAnswer(deps, call, offer.sdp, sessionTimer);
  const ack = await call.step(call.signaling.ack());
  const negotiated = acceptAnswer(offer, ack.body ?? '');
  await startMedia(deps, call, media, negotiated);
  call.signaling.run(media, { ...callSession(local, negotiated), origin: offer.origin, answer: offer.sdp });
  return negotiated;
}

/** What re-INVITEs answer with: our address and choices, the DTMF and SRTP key the call settled. */
export function callSession(local: LocalSdp, negotiated: NegotiatedMedia): Omit<CallSession, 'origin' | 'answer'> {
  const { ip, preference, srtp } = local;
  return { ip, preference, srtp, telephoneEvent: negotiated.telephoneEvent, ...(negotiated.srtp && { srtpKey: negotiated.srtp.localKey }) };
}

/** Starts the media on the negotiated codec (the caller joins the meeting), follows its keys, and records the call with it. */
export async function startMedia(deps: Pick<DialInDeps, 'nodeId' | 'callEvents'>, call: SipCall, media: PhoneMedia, negotiated: NegotiatedMedia): Promise<void> {
  await call.step(media.start(negotiated));
  followKeys(deps, call, media);
  await call.step(call.record({ nodeId: deps.nodeId, caller: media.identity.displayName, codec: negotiated.codec.name, startedAt: Date.now() }));
}

/**
 * Each key the caller presses reaches the meeting's browsers and the call's observers;
 * *6 toggles the caller's own mute, with the same tones as the call API's.
 */
function followKeys(deps: Pick<DialInDeps, 'callEvents'>, call: SipCall, media: PhoneMedia): void {
  const keypad = new KeypadCommands();
  call.signaling.dtmf.on('digit', ({ digit }) => {
    const participantId = media.member?.id;
    if (!call.isOpen || participantId === undefined) return;
    media.announceDigit(digit);
    deps.callEvents.digitPressed({ callId: call.callId, meetingId: call.meetingId, participantId, digit });
    if (keypad.press(digit) !== 'toggle-mute') return;
    const muted = !media.muted;
    media.setMuted(muted).then(
      (changed) => {
        if (changed) call.log.info({ muted, by: 'keypad' }, muted ? 'caller muted' : 'caller unmuted');
      },
      (err: Error) => call.log.warn({ reason: err.message }, 'mute from the keypad failed'),
    );
  });
}

/**
 * Our 200 OK, with the session timer's headers when one was agreed: from here on the call
 * ends with a BYE, never a final response.
 */
async function sendAnswer(deps: DialInDeps, call: SipCall, localSdp: string, sessionTimer: SessionTimerStart | undefined): Promise<void> {
  const headers = { 'X-Meeting-Id': call.meetingId, ...(sessionTimer && sessionTimerResponseHeaders(sessionTimer.deal)) };
  await call.sendAnswer(() => call.signaling.answer(deps.srf, { localSdp, headers }, sessionTimer));
}

/** Failures the caller is told about as such; anything else is a bug, logged as an error. */
function isExpected(err: unknown): boolean {
  return err instanceof GatewayError || err instanceof TimeoutError;
}

/**
 * How a failed set-up ends its call. Every call starts with a 401, and every wrong guess
 * ends in a 403: their summary lines are debug, so a guessing attack cannot fill the log.
 */
function setUpEnd(err: unknown): GatewayEnd {
  const end = failureEnd(err);
  return err instanceof AuthenticationRefused ? { ...end, quiet: true } : end;
}

/**
 * Twilio's INVITE comes from Twilio's own From; the PSTN caller's number travels in
 * X-Caller-Number, trusted only on a credential our webhook minted.
 */
function callerName(request: SipRequest, credential: SipCredential | undefined): string {
  const number = credential?.twilioCall ? request.get(CALLER_NUMBER_HEADER) : undefined;
  return callerDisplayName(number ? { uri: `tel:${number}` } : request.getParsedHeader('from'));
}

/** The meeting id is the Request-URI's user part: sip:<meetingId>@domain. */
export function meetingIdOf(uri: string): string {
  const user = /^sips?:([^@;?]+)@/i.exec(uri)?.[1] ?? '';
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}
