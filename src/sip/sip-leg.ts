/**
 * The SIP side of one phone call: its INVITE transaction (the phone's, or ours when the
 * gateway dials out), then its dialog. It is the call's signaling port (a final response
 * or, for our INVITE, a CANCEL before the answer; a BYE after it), turns the caller's
 * CANCEL and the dialog's end into the call's close(), and answers in-dialog
 * requests (re-INVITE, UPDATE, INFO) once the media runs. It starts the call's session
 * timer (RFC 4028) with the dialog and answers the caller's refreshes; the call owns the
 * timer and stops it when it closes.
 *
 * drachtio-server sends our 200 before it tells us it did, so the caller's ACK,
 * re-INVITE, INFO or BYE can reach us together with that news. The dialog is attached the
 * moment drachtio-srf creates it, and in-dialog requests that arrive before the media
 * runs (it starts at the ACK) are held and replayed in order.
 */
import { type Call, type CallSignaling, CallEndedError } from '../calls/call.js';
import { type GatewayEnd, Q850 } from '../calls/call-end.js';
import type { Logger } from '../logger.js';
import { GatewayError } from '../errors.js';
import type { PhoneMedia } from '../media/phone-media.js';
import { answerOffer } from '../media/sdp/answer-offer.js';
import type { CodecName } from '../media/sdp/codecs.js';
import type { SrtpPolicy } from '../media/sdp/crypto-attribute.js';
import type { TelephoneEvent } from '../media/sdp/negotiated-media.js';
import type { SdpOrigin } from '../media/sdp/sdp-writer.js';
import { withTimeout } from '../timeout.js';
import { AuthenticationRefused } from './authentication-refused.js';
import { DialogSessionTimer, type SessionTimerStart } from './dialog-session-timer.js';
import { DtmfReceiver } from './dtmf/dtmf-events.js';
import { parseSipInfoDtmf } from './dtmf/sip-info-dtmf.js';
import { TelephoneEventDecoder } from './dtmf/telephone-event-decoder.js';
import { UnsupportedMediaTypeError } from './dtmf/unsupported-media-type.js';
import { RetryLaterError } from './retry-later.js';
import { SessionIntervalTooSmall, tooSmallHeaders } from './session-timer.js';
import type { SipObserver } from './sip-observer.js';
import { sipWarning } from './sip-warning.js';
import { type SipDialog, type SipRequest, type SipResponse, type SrfApp, type UasOptions, answerInvite, repeatedHeader } from './srf.js';

/** A phone call as the SIP side holds it. */
export type SipCall = Call<SipLeg, PhoneMedia>;

/**
 * How the call began: the phone's INVITE (answered with its response), or ours (dial-out),
 * which the call cancels, rather than refuses, when it ends before the answer.
 */
export type LegOrigin =
  | { readonly kind: 'dial-in'; readonly request: SipRequest; readonly response: SipResponse }
  | { readonly kind: 'dial-out'; readonly cancel: () => void };

export interface SipLegContext {
  /** Carries callId and meetingId. */
  readonly log: Logger;
  readonly warningAgent: string;
  readonly observer: SipObserver;
}

/** Our side of the negotiated session, known once the media runs. */
export interface CallSession {
  /** Our SDP address, codec preference, the session's o= line and our last answer. */
  readonly ip: string;
  readonly preference: readonly CodecName[];
  origin: SdpOrigin;
  answer: string;
  /** RFC 4733 DTMF as negotiated; undefined when the phone offered none. */
  readonly telephoneEvent: TelephoneEvent | undefined;
  /** SIP_SRTP, and our SRTP master key when the call is SRTP: a re-INVITE's answer keeps it. */
  readonly srtp: SrtpPolicy;
  srtpKey?: Uint8Array;
}

/** An in-dialog request that arrived before the media ran. */
interface HeldRequest {
  readonly response: SipResponse;
  readonly handle: () => void;
}

/**
 * How long a set-up waits for the caller's ACK: Timer H, 64·T1 (RFC 3261 §17.2.1), and a
 * little more. drachtio-server gives up at 64·T1 and ends the dialog itself (its BYE says
 * "ACK timeout"); the margin lets it, rather than racing it with a BYE of ours. This ends
 * the call should drachtio never report the end (its link to the app lost meanwhile).
 */
const ACK_TIMEOUT_MS = 34_000;

/** What drachtio-server says of a response to an INVITE whose transaction it has already ended (487 after a CANCEL). */
const TRANSACTION_GONE = /unknown transaction/i;
const REQUEST_TERMINATED = 487;

/**
 * The caller's CANCEL crossed our 200 OK: drachtio-server had answered it 487 when our 200
 * reached it, so the 200 never went out. drachtio-srf forgets the INVITE as it sends the
 * 200, so the CANCEL's news never reaches the call either: this is how it hears of it.
 */
export class CancelCrossedAnswer extends Error {
  constructor() {
    super('the caller cancelled while our 200 OK was on its way');
    this.name = 'CancelCrossedAnswer';
  }
}

export class SipLeg implements CallSignaling {
  /** The caller's key presses, from RTP (RFC 4733) and SIP INFO alike, each once. */
  readonly dtmf = new DtmfReceiver();
  private call: SipCall | undefined;
  private dialog: SipDialog | undefined;
  /** A BYE for a call that ended while our 200 was on its way, sent once its dialog exists. */
  private byeWhenAnswered: GatewayEnd | undefined;
  private cancelled = false;
  /** drachtio-server answered the INVITE 487 to a CANCEL before our 200 reached it: the 200 never went out. */
  private cancelCrossedAnswer = false;
  private media: PhoneMedia | undefined;
  private session: CallSession | undefined;
  private held: HeldRequest[] = [];
  private sessionTimer: DialogSessionTimer | undefined;
  private readonly acked: Promise<SipRequest>;
  private resolveAcked!: (ack: SipRequest) => void;
  private rejectAcked!: (err: Error) => void;
  /** Whether the set-up waits for the ACK now: only that wait needs an error when the call ends. */
  private ackAwaited = false;

  constructor(
    private readonly origin: LegOrigin,
    private readonly context: SipLegContext,
  ) {
    this.acked = new Promise((resolve, reject) => {
      this.resolveAcked = resolve;
      this.rejectAcked = reject;
    });
    // A call that ends before its set-up asks for the ACK must not leave a rejection unhandled.
    this.acked.catch(() => undefined);
    this.dtmf.on('digit', ({ digit, source }) => context.log.info({ digit, source }, 'DTMF digit'));
  }

  /**
   * The call this leg signals for. Called before the first await of the set-up: a CANCEL
   * that arrives during its lookups must not be lost.
   */
  serve(call: SipCall): void {
    this.call = call;
    if (this.origin.kind === 'dial-in') {
      this.origin.request.once('cancel', () => {
        this.cancelled = true;
        void call.close({ by: 'caller', reason: 'CANCEL' });
      });
    }
    call.signal.addEventListener('abort', () => this.release(), { once: true });
  }

  /**
   * Sends our 200 OK. The dialog is ours before any in-dialog request can be dispatched;
   * resolves once drachtio-server reports the 200 sent. The session timer, when one was
   * agreed, runs from then.
   */
  answer(srf: SrfApp, options: UasOptions, sessionTimer?: SessionTimerStart): Promise<void> {
    if (this.origin.kind !== 'dial-in') throw new Error('only a dial-in leg answers');
    const { request, response } = this.origin;
    const answered = answerInvite(srf, request, response, options, (dialog) => this.attach(dialog, options.localSdp, sessionTimer));
    return answered.then(
      () => this.context.observer.inviteAnswered('accepted', 200),
      (err: unknown) => {
        // drachtio-srf fails a response with drachtio-server's reason, a string.
        if (!TRANSACTION_GONE.test(err instanceof Error ? err.message : String(err))) throw err;
        this.context.observer.inviteAnswered('rejected', REQUEST_TERMINATED);
        this.cancelCrossedAnswer = true;
        throw new CancelCrossedAnswer();
      },
    );
  }

  /** The caller's ACK to our 200 (a late offer's answer is in it). No ACK in time is a TimeoutError. */
  ack(): Promise<SipRequest> {
    if (this.call && !this.call.isOpen) return Promise.reject(new CallEndedError());
    this.ackAwaited = true;
    return withTimeout(this.acked, ACK_TIMEOUT_MS, 'waiting for the ACK to our 200 OK').finally(() => (this.ackAwaited = false));
  }

  /** The media runs: in-dialog requests are handled from now on, those held first, in order. */
  run(media: PhoneMedia, session: CallSession): void {
    this.media = media;
    this.session = session;
    const { telephoneEvent } = session;
    if (telephoneEvent) {
      const decoder = new TelephoneEventDecoder(telephoneEvent.clockRate, ({ digit, durationMs }) =>
        this.dtmf.receive({ digit, durationMs, source: 'rfc4733' }),
      );
      media.onTelephoneEvent(telephoneEvent.payloadType, (packet) => decoder.push(packet));
    }
    const held = this.held;
    this.held = [];
    for (const request of held) request.handle();
  }

  /** The dialog our own INVITE made (dial-out): the call is answered and ends with a BYE from now on. */
  answered(dialog: SipDialog, offeredSdp: string): void {
    this.attach(dialog, offeredSdp, undefined);
  }

  reject(status: number, error: GatewayError | undefined): void {
    if (this.origin.kind === 'dial-out') return this.origin.cancel();
    const { observer } = this.context;
    // drachtio-server answers a CANCELled INVITE with 487 itself (one whose CANCEL crossed our 200 was counted then).
    if (this.cancelCrossedAnswer) return;
    if (this.cancelled) return observer.inviteAnswered('rejected', status);
    const { response } = this.origin;
    if (response.finalResponseSent) return;
    const challenged = error instanceof AuthenticationRefused && error.challenge !== undefined;
    observer.inviteAnswered(challenged ? 'challenged' : 'rejected', error?.sipStatus ?? status);
    if (error instanceof SessionIntervalTooSmall) {
      response.send(error.sipStatus, 'Session Interval Too Small', { headers: tooSmallHeaders(error.minSE) });
    } else if (error instanceof AuthenticationRefused) {
      response.send(error.sipStatus, error.message, error.challenge ? { headers: repeatedHeader('WWW-Authenticate', error.challenge) } : {});
    } else if (error) {
      const retryAfter: Record<string, string> = error instanceof RetryLaterError ? { 'Retry-After': String(error.retryAfterSeconds) } : {};
      response.send(error.sipStatus, reasonPhrase(error), { headers: { ...retryAfter, Warning: sipWarning(error, this.context.warningAgent) } });
    } else {
      response.send(status, 'Server Error');
    }
  }

  /** Signals first, without waiting for the caller's 200: an unresponsive phone must not hold the media. */
  bye(end: GatewayEnd): void {
    if (!this.dialog) {
      this.byeWhenAnswered = end;
      return;
    }
    this.dialog
      .destroy({ headers: byeHeaders(end, this.context.warningAgent) })
      .catch((err: Error) => this.context.log.warn({ reason: err.message }, 'BYE to the caller failed'));
  }

  private attach(dialog: SipDialog, answeredSdp: string, sessionTimer: SessionTimerStart | undefined): void {
    this.dialog = dialog;
    const call = this.call!;
    // Ended while our 200 was on its way (the meeting ended, shutdown): end the dialog it made.
    if (this.byeWhenAnswered) return this.bye(this.byeWhenAnswered);
    dialog.on('destroy', (request, reason) =>
      void call.close(request.meta.source === 'application' ? { by: 'drachtio', reason: reason ?? 'BYE' } : { by: 'caller', reason: 'BYE' }),
    );
    dialog.once('ack', (ack) => this.resolveAcked(ack));
    dialog.on('modify', (request, response) => this.whenRunning(response, () => this.reinvite(request, response)));
    // UPDATE (RFC 3311): a session refresh, with or without a new offer.
    dialog.on('update', (request, response) => this.whenRunning(response, () => this.reinvite(request, response)));
    dialog.on('info', (request, response) => this.whenRunning(response, () => this.info(request, response)));
    if (sessionTimer && call.isOpen) this.startSessionTimer(call, dialog, sessionTimer, answeredSdp);
  }

  /** Runs from our 200 OK; the call owns it, so however the call ends, its close() stops it. */
  private startSessionTimer(call: SipCall, dialog: SipDialog, start: SessionTimerStart, answeredSdp: string): void {
    this.sessionTimer = new DialogSessionTimer({
      ...start,
      dialog,
      localSdp: () => this.session?.answer ?? answeredSdp,
      expired: (reason) => void call.close({ by: 'gateway', reason, cause: Q850.recoveryOnTimerExpiry }),
      log: this.context.log,
    });
    call.adoptTimer(this.sessionTimer);
  }

  /** The call is closing, whoever ended it: stop waiting for the ACK, refuse what was held for media that will never run. */
  private release(): void {
    // An error costs its stack trace: none is built for a call whose set-up no longer waits.
    if (this.ackAwaited) this.rejectAcked(new CallEndedError());
    for (const { response } of this.held) refuseAfterEnd(response);
    this.held = [];
  }

  private whenRunning(response: SipResponse, handle: () => void): void {
    if (!this.call?.isOpen) refuseAfterEnd(response);
    else if (this.session) handle();
    else this.held.push({ response, handle });
  }

  /** SIP INFO carrying DTMF (application/dtmf-relay, application/dtmf). */
  private info(request: SipRequest, response: SipResponse): void {
    try {
      const dtmf = parseSipInfoDtmf(request.get('Content-Type'), request.body ?? '');
      response.send(200);
      if (dtmf) this.dtmf.receive({ ...dtmf, source: 'sip-info' });
    } catch (err) {
      if (err instanceof UnsupportedMediaTypeError) return response.send(415, undefined, { headers: { Accept: err.acceptHeader() } });
      if (err instanceof GatewayError) return response.send(err.sipStatus, undefined, { headers: { Warning: sipWarning(err, this.context.warningAgent) } });
      this.context.log.error({ err }, 'INFO failed');
      response.send(500);
    }
  }

  /**
   * Re-INVITE and UPDATE. Hold, unhold and media changes: answer with the same codec and
   * a new o= version. Either may be a session refresh (RFC 4028).
   */
  private reinvite(request: SipRequest, response: SipResponse): void {
    const sdp = this.session!;
    const media = this.media!;
    const { log } = this.context;
    const refresh = this.sessionTimer?.answerRefresh(request);
    if (refresh?.kind === 'reject') return response.send(refresh.status, refresh.reason, { headers: refresh.headers });
    const headers = refresh?.headers ?? {};
    const answered = (body: string | undefined) => {
      response.send(200, undefined, { headers, ...(body !== undefined && { body }) });
      refresh?.confirm();
    };
    if (!request.body) {
      // An offerless re-INVITE (session refresh) is offered what we have; an UPDATE without SDP changes no media.
      answered(request.method === 'UPDATE' ? undefined : sdp.answer);
      return;
    }
    try {
      const origin = { ...sdp.origin, sessionVersion: sdp.origin.sessionVersion + 1 };
      const { ip, preference, srtp, srtpKey } = sdp;
      const answer = answerOffer(request.body, { ip, port: media.port, preference, origin, srtp, ...(srtpKey && { srtpKey }) });
      sdp.origin = answer.origin;
      sdp.answer = answer.sdp;
      if (answer.srtp) sdp.srtpKey = answer.srtp.localKey;
      const onHold = answer.remoteDirection === 'inactive' || answer.remoteDirection === 'sendonly';
      log.info({ direction: answer.direction }, onHold ? 'caller put the call on hold' : 'call media updated');
      void media.update(answer).catch((err: Error) => log.warn({ reason: err.message }, 'media not updated for the re-INVITE'));
      answered(answer.sdp);
    } catch (err) {
      if (err instanceof GatewayError) {
        response.send(err.sipStatus, undefined, { headers: { Warning: sipWarning(err, this.context.warningAgent) } });
        return;
      }
      log.error({ err }, 're-INVITE failed');
      response.send(500);
    }
  }
}

/**
 * Reason (RFC 3326): the Q.850 cause always; when a failure of the call's own (cause 127,
 * interworking) ended it, also its SIP status and a Warning, which say more than the cause.
 */
function byeHeaders(end: GatewayEnd, warningAgent: string): Record<string, string> {
  const text = end.reason.replace(/["\\]/g, '');
  const q850 = `Q.850;cause=${end.cause};text="${text}"`;
  if (!end.error || end.cause !== Q850.interworking) return { Reason: q850 };
  // One line per protocol: drachtio-server splits a comma-joined Reason into lines anyway.
  return { ...repeatedHeader('Reason', [q850, `SIP;cause=${end.error.sipStatus};text="${text}"`]), Warning: sipWarning(end.error, warningAgent) };
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

/** A request in a dialog the call has ended (its BYE crossed the request). */
function refuseAfterEnd(response: SipResponse): void {
  response.send(481, 'Call/Transaction Does Not Exist');
}
