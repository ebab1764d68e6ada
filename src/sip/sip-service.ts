/**
 * Everything SIP, wired once: the connection to drachtio-server, the guard that drops
 * banned and flooding sources before anything else, call admission and the dial-in
 * handler for INVITEs, answers for OPTIONS and for methods the gateway does not
 * take, and the active calls, set up or answered, which it ends when it closes.
 */
import type { CallObserver } from '../calls/call.js';
import type { CallHosts } from '../cluster/call-host.js';
import type { CallEventObserver } from '../calls/call-events.js';
import { CallRegistry } from '../calls/call-registry.js';
import { shutdownEnd } from '../calls/call-end.js';
import type { GatewayConfig } from '../config/config.js';
import { GatewayError } from '../errors.js';
import { type Logger, callLogger } from '../logger.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { PhoneMedia } from '../media/phone-media.js';
import type { Rooms } from '../media/rooms.js';
import type { GatewayStore } from '../store/store.js';
import type { CallAdmission, Refused } from './call-admission.js';
import { type PhoneMediaSettings, dialIn, meetingIdOf } from './dial-in.js';
import { DialOut } from './dial-out.js';
import { TrunkRegistrations } from './trunk-registration.js';
import type { DialOuts } from '../calls/dial-outs.js';
import type { PhoneNumbers } from '../pstn/phone-numbers.js';
import type { Trunks } from '../pstn/trunks.js';
import { trunkCall } from './trunk-calls.js';
import type { NonceCountStore } from './digest/nonce-count-store.js';
import { inspectRequest } from './request-inspection.js';
import { SLOW_DOWN_MS, SipGuard } from './guard/sip-guard.js';
import type { SipGuardStore } from '../store/sip-guard-store.js';
import type { SipLeg } from './sip-leg.js';
import type { SipObserver } from './sip-observer.js';
import { SipAuthenticator } from './sip-authenticator.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import { HandOffTokens } from './hand-off-token.js';
import { SipFrontEnd } from './sip-front-end.js';
import { sipWarning } from './sip-warning.js';
import { type RoutedMethod, type SipRequest, type SipResponse, route } from './srf.js';

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE';
/** Out of a dialog only: INFO and UPDATE in a call's dialog reach that call (drachtio-srf routes them to its Dialog). */
const NOT_TAKEN: readonly RoutedMethod[] = ['register', 'subscribe', 'message', 'publish', 'notify', 'refer', 'update', 'prack', 'info'];

export interface SipServiceDeps {
  readonly config: GatewayConfig;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly store: GatewayStore;
  readonly sipCredentials: SipCredentials;
  readonly nonceCounts: NonceCountStore;
  readonly guardStore: SipGuardStore;
  readonly admission: CallAdmission;
  readonly nodeId: string;
  readonly log: Logger;
  /** Hears of every INVITE and its answer (the metrics). */
  readonly observer: SipObserver;
  /** Hears of every call's progress: ringing, answer, end (the metrics, the webhooks). */
  readonly callObserver: CallObserver<SipLeg, PhoneMedia>;
  /** Hears what happens in each call (the keys its caller presses). */
  readonly callEvents: CallEventObserver;
  /** Where the progress of the calls we dial is kept. */
  readonly dialOuts: DialOuts;
  /** The trunks numbers are dialled through, and whose calls are taken without a digest. */
  readonly trunks: Pick<Trunks, 'route' | 'fromSource'>;
  /** Which meeting a number a trunk calls reaches. */
  readonly phoneNumbers: Pick<PhoneNumbers, 'meetingIdFor'>;
  /** Which node sets up each meeting's calls (see src/cluster/call-host.ts). */
  readonly callHosts: CallHosts;
}

export class SipService {
  private constructor(
    readonly frontEnd: SipFrontEnd,
    /** Bans, limits and their counters (GET /api/sip/bans, metrics). */
    readonly guard: SipGuard,
    /** Every call, from its first INVITE on (or ours): being set up, answered or closing. */
    readonly calls: CallRegistry<SipLeg, PhoneMedia>,
    /** Calls a meeting makes (POST /api/meetings/:id/dial-out). */
    readonly dialOut: DialOut,
    /** The trunks this node REGISTERs with. */
    readonly registrations: TrunkRegistrations,
  ) {}

  static async start(deps: SipServiceDeps): Promise<SipService> {
    const { config, log, observer } = deps;
    const frontEnd = await SipFrontEnd.start(config, log);
    const sipLog = log.child({ component: 'sip' });
    const guard = new SipGuard(config.sipGuard, deps.guardStore, sipLog);
    const calls = new CallRegistry<SipLeg, PhoneMedia>(deps.callObserver);
    const media: PhoneMediaSettings = {
      listenIp: config.rtpListenIp,
      announcedIp: config.announcedIp,
      minPort: config.rtpMinPort,
      maxPort: config.rtpMaxPort,
      latch: config.rtpComedia,
    };
    const dialOut = new DialOut({
      srf: frontEnd.srf,
      meetings: deps.meetings,
      rooms: deps.rooms,
      store: deps.store,
      calls,
      dialOuts: deps.dialOuts,
      trunks: deps.trunks,
      sipDomain: config.sipDomain,
      codecs: config.sipCodecs,
      srtp: config.sipSrtp,
      media,
      nodeId: deps.nodeId,
      log: sipLog,
      callLimits: config.callLimits,
      admission: deps.admission,
      observer,
      callEvents: deps.callEvents,
      tlsRefusal: tlsRefusal(config),
    });
    const registrations = new TrunkRegistrations({
      srf: frontEnd.srf,
      contactHostport: (transport) => (transport === 'tls' ? frontEnd.tlsContactHostport : frontEnd.contactHostport),
      tlsRefusal: tlsRefusal(config),
      log: sipLog,
    });
    const service = new SipService(frontEnd, guard, calls, dialOut, registrations);
    frontEnd.onDialogLost((callId, reason) => void service.calls.get(callId)?.close({ by: 'drachtio', reason }));
    const { srf } = frontEnd;
    const authenticator = new SipAuthenticator({
      realm: config.sipDomain,
      algorithms: config.sipDigestAlgorithms,
      secret: config.sipNonceSecret,
      credentials: deps.sipCredentials,
      nonceCounts: deps.nonceCounts,
      guard,
      slowDownMs: SLOW_DOWN_MS,
      log: sipLog,
    });

    const answerCall = dialIn({
      srf,
      authenticator,
      guard,
      meetings: deps.meetings,
      rooms: deps.rooms,
      store: deps.store,
      sipCredentials: deps.sipCredentials,
      calls: service.calls,
      sipDomain: config.sipDomain,
      codecs: config.sipCodecs,
      srtp: config.sipSrtp,
      media,
      nodeId: deps.nodeId,
      log: sipLog,
      sessionTimer: { minSE: config.sessionMinSESeconds, sessionExpires: config.sessionExpiresSeconds },
      callLimits: config.callLimits,
      observer,
      callEvents: deps.callEvents,
      trunkCall: (request) => trunkCall({ trunks: deps.trunks, phoneNumbers: deps.phoneNumbers }, request),
      callHosts: deps.callHosts,
      handOff: {
        mode: config.sipClusterMode,
        tokens: config.sipClusterSecret === undefined ? undefined : new HandOffTokens(config.sipClusterSecret),
        retryAfterSeconds: config.sipRetryAfterSeconds,
      },
    });
    // Before every handler below: a banned or flooding source is dropped before any other work.
    srf.use(guard.middleware());
    // Inspection, then admission: a refused INVITE costs no authentication, store or media work.
    srf.invite((request, response) => {
      observer.inviteReceived();
      const refusedStatus = refusedOnInspection(request, response, config.sipDomain, sipLog);
      if (refusedStatus) return observer.inviteAnswered('rejected', refusedStatus);
      const admission = deps.admission.admit();
      if (!admission.admitted) {
        observer.inviteAnswered('rejected', 503);
        return refuse(request, response, admission, config.sipDomain, sipLog);
      }
      const sourceSlot = guard.takeSourceSetup(guard.callerOf(request));
      if (!sourceSlot) {
        admission.release();
        observer.inviteAnswered('rejected', 503);
        return refuse(request, response, tooManyFromSource(config.sipRetryAfterSeconds), config.sipDomain, sipLog);
      }
      const release = () => {
        sourceSlot();
        admission.release();
      };
      answerCall(request, response).then(release, (err: unknown) => {
        release();
        callLogger(sipLog, { callId: request.get('Call-ID') ?? 'unknown', meetingId: meetingIdOf(request.uri) }).error({ err }, 'INVITE handling failed');
      });
    });
    route(srf, 'options', (request, response) => {
      if (refusedOnInspection(request, response, config.sipDomain, sipLog)) return;
      // A SIP front's probe: a draining node is taken out of its rotation (RFC 3261 §11: OPTIONS is answered as an INVITE would be).
      const draining = deps.admission.probeRefusal();
      if (draining) return refuse(request, response, draining, config.sipDomain, sipLog);
      response.send(200, 'OK', { headers: { Allow: ALLOW, Accept: 'application/sdp', 'Accept-Encoding': 'identity' } });
    });
    for (const method of NOT_TAKEN) {
      route(srf, method, (request, response) => {
        // debug: REGISTER and SUBSCRIBE floods are what scanners send (svwar); a line each would fill the log.
        callLogger(sipLog, { callId: request.get('Call-ID') ?? 'unknown', meetingId: meetingIdOf(request.uri) }).debug({ method: request.method }, 'method not allowed here');
        response.send(405, 'Method Not Allowed', { headers: { Allow: ALLOW } });
      });
    }
    return service;
  }

  problem(): string | undefined {
    return this.frontEnd.problem();
  }

  /** Ends every call: a BYE, or 503 to one still being set up. */
  async endCalls(reason: string): Promise<void> {
    await this.calls.closeAll(shutdownEnd(reason));
  }

  /** Ends the calls another node proxied here through any of these nodes (that node's drain time is up). */
  endCallsVia(viaNodeIds: ReadonlySet<string>, reason: string): void {
    for (const call of this.calls.all()) {
      if (!call.isOpen || call.viaNodeId === undefined || !viaNodeIds.has(call.viaNodeId)) continue;
      call.log.info({ viaNodeId: call.viaNodeId }, 'ending a call whose relaying node is closing');
      void call.close(shutdownEnd(reason));
    }
  }

  /** Ends every call and disconnects from drachtio-server. */
  async close(reason: string): Promise<void> {
    await this.endCalls(reason);
    this.registrations.close();
    this.guard.close();
    await this.frontEnd.close();
  }
}

/** Answers a request the inspection refuses (416, 420, 415, 406) and returns the status it got; undefined when it passed. */
function refusedOnInspection(request: SipRequest, response: SipResponse, warningAgent: string, log: Logger): number | undefined {
  const refusal = inspectRequest(request, warningAgent);
  if (!refusal) return undefined;
  // debug: these come from scanners and broken peers; a line each would let them fill the log.
  callLogger(log, { callId: request.get('Call-ID') ?? 'unknown', meetingId: meetingIdOf(request.uri) }).debug(
    { method: request.method, status: refusal.status, detail: refusal.detail },
    'request refused on inspection',
  );
  response.send(refusal.status, refusal.reason, { headers: refusal.headers });
  return refusal.status;
}

/** SIP_MAX_SETUPS_PER_SOURCE reached: refused as call admission refuses an overload. */
function tooManyFromSource(retryAfterSeconds: number): Refusal {
  return { reason: 'overloaded', detail: 'too many call set-ups from this address at once', retryAfterSeconds };
}

type Refusal = Pick<Refused, 'reason' | 'detail' | 'retryAfterSeconds'>;

/** 503 Service Unavailable with Retry-After and a Warning that says why (draining or overloaded), to an INVITE or a probe. */
function refuse(request: SipRequest, response: SipResponse, refusal: Refusal, warningAgent: string, log: Logger): void {
  const callId = request.get('Call-ID') ?? 'unknown';
  // debug: while shedding load, one line per refused INVITE would add to the overload.
  callLogger(log, { callId, meetingId: meetingIdOf(request.uri) }).debug({ reason: refusal.reason, retryAfter: refusal.retryAfterSeconds }, `${request.method} refused: 503`);
  response.send(503, 'Service Unavailable', {
    headers: {
      'Retry-After': String(refusal.retryAfterSeconds),
      Warning: sipWarning(new GatewayError('unavailable', refusal.detail), warningAgent),
    },
  });
}

/**
 * SIP_TLS_VERIFY asks for the certificates of the TLS peers we connect to to be checked.
 * The embedded stand-in checks them; drachtio-server v0.9.10 has no option to (sofia-sip's
 * default policy checks none), so with DRACHTIO_ADDRESS nothing is sent over TLS unless
 * SIP_TLS_VERIFY=false says an unchecked peer is acceptable.
 */
function tlsRefusal(config: GatewayConfig): string | undefined {
  if (config.drachtioAddress === undefined || !config.sipTlsPeers.verify) return undefined;
  return 'SIP_TLS_VERIFY is on and drachtio-server (DRACHTIO_ADDRESS) does not check the certificates of the TLS peers it connects to; set SIP_TLS_VERIFY=false to accept that';
}
