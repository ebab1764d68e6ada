/**
 * Dialling out from a meeting: our INVITE, with our offer, to a SIP address; the callee
 * who answers is a phone participant of the meeting exactly like a dial-in caller (the
 * same Call, SipLeg and PhoneMedia: mix-minus, DTMF, hold, RTP timeout, metrics, the call
 * API and webhooks). A number goes through a trunk (sip:<number>@<trunk host>, the trunk's
 * caller id in From), whose credentials answer a 401/407 (drachtio-srf's digest client). The call's progress and outcome are kept in DialOuts:
 * calling, ringing, answered, then busy, no-answer, failed, cancelled or ended. Before
 * the answer the call ends with a CANCEL (DELETE /api/calls/:callId, the ring timeout, the
 * meeting ending), after it with a BYE.
 */
import { randomUUID } from 'node:crypto';
import { type GatewayEnd, Q850, failureEnd } from '../calls/call-end.js';
import type { CallEventObserver } from '../calls/call-events.js';
import { type CallLimits, superviseCall } from '../calls/call-limits.js';
import type { CallRegistry } from '../calls/call-registry.js';
import type { DialOutRequest, DialOutService, DialOuts, DialOutState } from '../calls/dial-outs.js';
import { GatewayError } from '../errors.js';
import { type Logger, callLogger } from '../logger.js';
import type { PhoneMedia } from '../media/phone-media.js';
import type { Rooms } from '../media/rooms.js';
import type { CodecName } from '../media/sdp/codecs.js';
import type { SrtpPolicy } from '../media/sdp/crypto-attribute.js';
import { type LocalOffer, acceptAnswer, createOffer } from '../media/sdp/late-offer.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { TrunkRoute, Trunks } from '../pstn/trunks.js';
import type { GatewayStore } from '../store/store.js';
import type { CallAdmission } from './call-admission.js';
import { callerDisplayName } from './caller-name.js';
import { type PhoneMediaSettings, callSession, openMedia, startMedia } from './dial-in.js';
import { type SipCall, SipLeg } from './sip-leg.js';
import type { SipObserver } from './sip-observer.js';
import type { SrfApp } from './srf.js';

export interface DialOutDeps {
  readonly srf: SrfApp;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly store: GatewayStore;
  readonly calls: CallRegistry<SipLeg, PhoneMedia>;
  readonly dialOuts: DialOuts;
  readonly trunks: Pick<Trunks, 'route'>;
  readonly sipDomain: string;
  readonly codecs: readonly CodecName[];
  /** SIP_SRTP: whether our offer carries SDES keys, and on which profile. */
  readonly srtp: SrtpPolicy;
  readonly media: PhoneMediaSettings;
  readonly nodeId: string;
  readonly log: Logger;
  readonly callLimits: CallLimits;
  readonly admission: Pick<CallAdmission, 'admit'>;
  readonly observer: SipObserver;
  readonly callEvents: CallEventObserver;
  /** Why a dial-out over TLS is refused here, when it is: TLS peers must be verified and drachtio cannot (SIP_TLS_VERIFY with DRACHTIO_ADDRESS). */
  readonly tlsRefusal: string | undefined;
}

/**
 * `sip:user@host[:port][;transport=udp|tcp|tls]` or `sips:user@host[:port][;transport=tls]`:
 * what a dial-out without a trunk may call (group 1 the scheme, group 2 the transport).
 */
const SIP_ADDRESS = /^(sips?):[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:;transport=(udp|tcp|tls))?$/i;

export const DEFAULT_RING_TIMEOUT_SECONDS = 60;

/** How a final response to our INVITE ends the dial-out. */
function outcomeOf(status: number): DialOutState {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  return 'failed';
}

export class DialOut implements DialOutService {
  constructor(private readonly deps: DialOutDeps) {}

  async dial(meetingId: string, request: DialOutRequest): Promise<{ callId: string }> {
    const route = request.trunk === undefined ? directRoute(request.to) : await this.deps.trunks.route(request.trunk, request.to);
    if (route.tls && this.deps.tlsRefusal !== undefined) throw new GatewayError('unavailable', `cannot dial over TLS: ${this.deps.tlsRefusal}`);
    const meeting = await this.deps.meetings.get(meetingId);
    if (meeting.endedAt !== undefined) throw new GatewayError('conflict', `meeting "${meetingId}" has ended`);
    const callId = randomUUID();
    const log = callLogger(this.deps.log, { callId, meetingId });
    let pending: { cancel(callback: () => void): void } | undefined;
    let settled = false;
    let cancelWanted = false;
    const cancel = () => {
      cancelWanted = true;
      if (pending && !settled) pending.cancel(() => undefined);
    };
    // A draining or overloaded node takes no new calls, ours included; the slot is held until the set-up is over.
    const admission = this.deps.admission.admit();
    if (!admission.admitted) throw new GatewayError('unavailable', admission.detail);
    const leg = new SipLeg({ kind: 'dial-out', cancel }, { log, warningAgent: this.deps.sipDomain, observer: this.deps.observer });
    const call = this.deps.calls.open({ callId, meetingId, signaling: leg, store: this.deps.store, log });
    leg.serve(call);
    const displayName = callerDisplayName({ ...(request.displayName && { name: request.displayName }), uri: request.to });
    let media: PhoneMedia;
    try {
      // A full meeting or no free port is the caller's answer (409, 503), before anything is sent.
      const room = await call.step(this.deps.rooms.room(meetingId));
      media = call.adoptMedia(await openMedia(this.deps, call, room, displayName));
    } catch (err) {
      admission.release();
      await call.close(failureEnd(err));
      throw err;
    }
    this.deps.dialOuts.start({ callId, meetingId, to: request.to });
    const progress = {
      sent: (req: { cancel(callback: () => void): void }) => {
        pending = req;
        if (cancelWanted) cancel();
      },
      settled: () => (settled = true),
    };
    void this.run(call, leg, media, displayName, request, route, progress)
      .catch((err: unknown) => {
        if (!call.isOpen) return;
        if (!(err instanceof GatewayError)) log.error({ err }, 'dial-out failed');
        this.deps.dialOuts.update(callId, 'failed', { reason: err instanceof Error ? err.message : String(err) });
        void call.close(failureEnd(err));
      })
      .finally(() => admission.release());
    log.info({ to: request.to, ...(request.trunk !== undefined && { trunk: request.trunk }) }, 'dialling out');
    return { callId };
  }

  private async run(
    call: SipCall,
    leg: SipLeg,
    media: PhoneMedia,
    displayName: string,
    request: DialOutRequest,
    route: TrunkRoute,
    progress: { sent(req: { cancel(callback: () => void): void }): void; settled(): void },
  ): Promise<void> {
    const { deps } = this;
    const { callId } = call;
    const offer = createOffer(this.localSdp(media));
    const ringSeconds = request.timeoutSeconds ?? DEFAULT_RING_TIMEOUT_SECONDS;
    const ringTimer = setTimeout(() => {
      if (call.state !== 'setting-up') return;
      deps.dialOuts.update(callId, 'no-answer', { reason: `no answer within ${ringSeconds} s` });
      void call.close(noAnswerEnd(ringSeconds));
    }, ringSeconds * 1000);
    call.signal.addEventListener('abort', () => clearTimeout(ringTimer), { once: true });
    let dialog;
    try {
      const from = route.callerId === undefined ? `<sip:${call.meetingId}@${deps.sipDomain}>` : `<sip:${route.callerId}@${route.host}>`;
      dialog = await deps.srf.createUAC(
        route.uri,
        {
          localSdp: offer.sdp,
          headers: { 'Call-ID': callId, From: from, 'X-Meeting-Id': call.meetingId },
          ...(route.auth && { auth: route.auth }),
        },
        {
          cbRequest: (err, sent) => {
            if (!err) progress.sent(sent);
          },
          cbProvisional: (response) => {
            if (response.status === 100 || call.state !== 'setting-up' || deps.dialOuts.get(callId)?.state !== 'calling') return;
            deps.dialOuts.update(callId, 'ringing');
            call.ringing(displayName);
          },
        },
      );
    } catch (err) {
      progress.settled();
      clearTimeout(ringTimer);
      const status = (err as { status?: unknown }).status;
      if (typeof status !== 'number') throw err;
      const reason = (err as { reason?: string }).reason ?? '';
      deps.dialOuts.update(callId, call.isOpen ? outcomeOf(status) : 'cancelled', { sipStatus: status, reason });
      if (call.isOpen) await call.close(refusedEnd(status, reason));
      return;
    }
    progress.settled();
    clearTimeout(ringTimer);
    await this.answered(call, leg, media, dialog, offer, displayName);
  }

  /** Our side of the SDP: where the callee sends, our codecs, and SRTP as SIP_SRTP says. */
  private localSdp(media: PhoneMedia) {
    const { deps } = this;
    return { ip: deps.media.announcedIp, port: media.port, preference: deps.codecs, srtp: deps.srtp };
  }

  /** The callee answered: the call is up, its media starts with the callee's answer. */
  private async answered(
    call: SipCall,
    leg: SipLeg,
    media: PhoneMedia,
    dialog: Parameters<SipLeg['answered']>[0] & { readonly remote: { readonly sdp: string } },
    offer: LocalOffer,
    displayName: string,
  ): Promise<void> {
    const { deps } = this;
    if (!call.isOpen) {
      // Cancelled while the callee's 200 was on its way: end the dialog it made.
      deps.dialOuts.update(call.callId, 'cancelled', { reason: 'answered after the call was cancelled' });
      void dialog.destroy().catch(() => undefined);
      return;
    }
    leg.answered(dialog, offer.sdp);
    if (!call.caller) call.ringing(displayName);
    call.answering();
    deps.dialOuts.update(call.callId, 'answered');
    void call.whenEnded().then(() => deps.dialOuts.update(call.callId, 'ended'));
    const negotiated = acceptAnswer(offer, dialog.remote.sdp);
    await startMedia(deps, call, media, negotiated);
    leg.run(media, { ...callSession(this.localSdp(media), negotiated), origin: offer.origin, answer: offer.sdp });
    superviseCall(call, media, deps.callLimits);
    call.log.info({ codec: negotiated.codec.name, ptime: negotiated.ptime, rtpPort: media.port }, 'dial-out answered');
  }
}

/** A SIP URI dialled as it is, without a trunk. */
function directRoute(to: string): TrunkRoute {
  const [, scheme = '', transport = ''] = SIP_ADDRESS.exec(to) ?? [];
  const secure = scheme.toLowerCase() === 'sips';
  // sips: is TLS end to end (RFC 3261 26.2.2): never over UDP or TCP.
  if (!scheme || (secure && transport !== '' && transport.toLowerCase() !== 'tls')) {
    throw new GatewayError('bad_request', '"to" must be a SIP URI: sip:user@host[:port][;transport=udp|tcp|tls] or sips:user@host[:port]');
  }
  return { uri: to, tls: secure || transport.toLowerCase() === 'tls', callerId: undefined, host: '', auth: undefined };
}

function noAnswerEnd(seconds: number): GatewayEnd {
  const reason = `no answer within ${seconds} s`;
  return { by: 'gateway', reason, cause: Q850.recoveryOnTimerExpiry, error: new GatewayError('unavailable', reason) };
}

/** The callee refused our INVITE: nothing is left to signal. */
function refusedEnd(status: number, reason: string): GatewayEnd {
  const text = `the callee answered ${status} ${reason}`.trim();
  const code = outcomeOf(status) === 'busy' ? 'busy' : 'unavailable';
  return { by: 'gateway', reason: text, cause: Q850.normalClearing, error: new GatewayError(code, text) };
}
