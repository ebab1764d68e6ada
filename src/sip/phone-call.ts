/**
 * One phone call, from the moment its media is open (before our 200 OK) to its end: its
 * SIP dialog and its media. Every way a call can end (the caller's BYE or CANCEL,
 * drachtio-server's ACK timeout, the meeting ending, the media worker dying, a failed
 * set-up, shutdown) funnels into close(), which signals first (BYE, unless the dialog is
 * already gone), then releases the media, then deregisters the call, then logs one
 * summary line.
 *
 * The call exists before the caller can see our 200: drachtio-server sends the 200 before
 * it tells us it did, so the caller's ACK, re-INVITE, INFO or BYE can reach us together
 * with that news. The dialog is attached the moment drachtio-srf creates it, and
 * in-dialog requests that arrive before the media runs (a late offer waits for the ACK)
 * are held and replayed in order.
 */
import type { Logger } from '../logger.js';
import { GatewayError } from '../errors.js';
import type { PhoneMedia } from '../media/phone-media.js';
import type { GatewayStore } from '../store/store.js';
import { DtmfReceiver } from './dtmf/dtmf-events.js';
import { parseSipInfoDtmf } from './dtmf/sip-info-dtmf.js';
import { TelephoneEventDecoder } from './dtmf/telephone-event-decoder.js';
import { UnsupportedMediaTypeError } from './dtmf/unsupported-media-type.js';
import { answerOffer } from '../media/sdp/answer-offer.js';
import type { CodecName } from '../media/sdp/codecs.js';
import type { TelephoneEvent } from '../media/sdp/negotiated-media.js';
import type { SdpOrigin } from '../media/sdp/sdp-writer.js';
import { sipWarning } from './sip-warning.js';
import { type SipDialog, type SipRequest, type SipResponse, type SrfApp, type UasOptions, answerInvite } from './srf.js';

export type CallEnd =
  | { readonly by: 'caller'; readonly reason: 'BYE' | 'CANCEL' }
  /** drachtio-server ended the dialog itself (a 200 OK never ACKed: "ACK timeout"). */
  | { readonly by: 'drachtio'; readonly reason: string }
  /** `error`, when given, says why in the BYE (Reason cause and Warning). */
  | { readonly by: 'gateway'; readonly reason: string; readonly error?: GatewayError };

export interface CallContext {
  readonly callId: string;
  readonly meetingId: string;
  readonly store: GatewayStore;
  readonly log: Logger;
  readonly warningAgent: string;
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
}

/** An in-dialog request that arrived before the media ran. */
interface HeldRequest {
  readonly response: SipResponse;
  readonly handle: () => void;
}

/** How long a late offer waits for the caller's ACK: Timer H, 64·T1 (RFC 3261 §17.2.1). */
const ACK_TIMEOUT_MS = 32_000;

export class PhoneCall {
  /** The caller's key presses, from RTP (RFC 4733) and SIP INFO alike, each once. */
  readonly dtmf = new DtmfReceiver();
  private dialog: SipDialog | undefined;
  private session: CallSession | undefined;
  private held: HeldRequest[] = [];
  private end: CallEnd | undefined;
  private readonly startedAt = Date.now();
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  private readonly acked: Promise<SipRequest | undefined>;
  private resolveAcked!: (ack: SipRequest | undefined) => void;

  constructor(
    readonly media: PhoneMedia,
    private readonly context: CallContext,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.acked = new Promise((resolve) => (this.resolveAcked = resolve));
    this.dtmf.on('digit', ({ digit, source }) => context.log.info({ digit, source }, 'DTMF digit'));
  }

  get callId(): string {
    return this.context.callId;
  }

  get closed(): boolean {
    return this.end !== undefined;
  }

  /** Resolves once the call has fully ended. */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /**
   * Sends our 200 OK. The dialog is ours before any in-dialog request can be dispatched;
   * resolves once drachtio-server reports the 200 sent.
   */
  answer(srf: SrfApp, request: SipRequest, response: SipResponse, options: UasOptions): Promise<void> {
    return answerInvite(srf, request, response, options, (dialog) => this.attach(dialog));
  }

  /**
   * The caller's ACK to our 200 (a late offer's answer is in it); undefined when the
   * call ended first. No ACK in time ends the call.
   */
  async ack(): Promise<SipRequest | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        void this.close({ by: 'gateway', reason: 'no ACK to our 200 OK', error: new GatewayError('bad_request', 'no ACK to our 200 OK') });
        resolve(undefined);
      }, ACK_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.acked, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The media runs: in-dialog requests are handled from now on, those held first, in order. */
  run(session: CallSession): void {
    if (this.closed) return;
    this.session = session;
    const { telephoneEvent } = session;
    if (telephoneEvent) {
      const decoder = new TelephoneEventDecoder(telephoneEvent.clockRate, ({ digit, durationMs }) =>
        this.dtmf.receive({ digit, durationMs, source: 'rfc4733' }),
      );
      this.media.onTelephoneEvent(telephoneEvent.payloadType, (packet) => decoder.push(packet));
    }
    const held = this.held;
    this.held = [];
    for (const request of held) request.handle();
  }

  async close(end: CallEnd): Promise<void> {
    if (this.end) return this.ended;
    this.end = end;
    const { log, store, callId } = this.context;
    this.resolveAcked(undefined);
    if (end.by === 'gateway' && this.dialog) this.bye(this.dialog, end.reason, end.error);
    // Requests held for a media that will never run get their answer: the dialog is gone.
    for (const { response } of this.held) refuseAfterEnd(response);
    this.held = [];
    this.media.close(end.by === 'caller' ? `caller sent ${end.reason}` : end.reason);
    await store.removeCall(callId).catch((err: Error) => log.error({ reason: err.message }, 'call record not removed'));
    log.info({ endedBy: end.by, reason: end.reason, durationMs: Date.now() - this.startedAt }, 'call ended');
    this.resolveEnded();
  }

  private attach(dialog: SipDialog): void {
    this.dialog = dialog;
    // Ended while our 200 was on its way (the meeting ended, shutdown): end the dialog it made.
    if (this.end) return this.bye(dialog, this.end.reason, this.end.by === 'gateway' ? this.end.error : undefined);
    dialog.on('destroy', (request, reason) =>
      void this.close(request.meta.source === 'application' ? { by: 'drachtio', reason: reason ?? 'BYE' } : { by: 'caller', reason: 'BYE' }),
    );
    dialog.once('ack', (ack) => this.resolveAcked(ack));
    dialog.on('modify', (request, response) => this.whenRunning(response, () => this.reinvite(request, response)));
    dialog.on('info', (request, response) => this.whenRunning(response, () => this.info(request, response)));
  }

  private whenRunning(response: SipResponse, handle: () => void): void {
    if (this.closed) refuseAfterEnd(response);
    else if (this.session) handle();
    else this.held.push({ response, handle });
  }

  /** Signals first, without waiting for the caller's 200: an unresponsive phone must not hold the media. */
  private bye(dialog: SipDialog, reason: string, error: GatewayError | undefined): void {
    const headers: Record<string, string> = { Reason: `${error?.q850Cause ? `Q.850;cause=${error.q850Cause}` : `SIP;cause=${error?.sipStatus ?? 200}`};text="${reason.replace(/["\\]/g, '')}"` };
    if (error) headers.Warning = sipWarning(error, this.context.warningAgent);
    dialog.destroy({ headers }).catch((err: Error) => this.context.log.warn({ reason: err.message }, 'BYE to the caller failed'));
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

  /** Hold, unhold and media changes: answer with the same codec and a new o= version. */
  private reinvite(request: SipRequest, response: SipResponse): void {
    const sdp = this.session!;
    const { log } = this.context;
    if (!request.body) {
      // An offerless re-INVITE (session refresh): offer what we have.
      response.send(200, undefined, { body: sdp.answer });
      return;
    }
    try {
      const origin = { ...sdp.origin, sessionVersion: sdp.origin.sessionVersion + 1 };
      const answer = answerOffer(request.body, { ip: sdp.ip, port: this.media.port, preference: sdp.preference, origin });
      sdp.origin = answer.origin;
      sdp.answer = answer.sdp;
      const onHold = answer.remoteDirection === 'inactive' || answer.remoteDirection === 'sendonly';
      log.info({ direction: answer.direction }, onHold ? 'caller put the call on hold' : 'call media updated');
      void this.media.update(answer).catch((err: Error) => log.warn({ reason: err.message }, 'media not updated for the re-INVITE'));
      response.send(200, undefined, { body: answer.sdp });
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

/** A request in a dialog the call has ended (its BYE crossed the request). */
function refuseAfterEnd(response: SipResponse): void {
  response.send(481, 'Call/Transaction Does Not Exist');
}
