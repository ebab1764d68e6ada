/**
 * One answered phone call: its SIP dialog and its media. Every way a call can end (the
 * caller's BYE, the meeting ending, the media worker dying, shutdown) funnels into
 * close(), which signals first (BYE, unless the caller already sent one), then releases
 * the media, then deregisters the call, then logs one summary line.
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
import type { SipDialog, SipRequest, SipResponse } from './srf.js';

export type CallEnd =
  | { readonly by: 'caller' }
  | { readonly by: 'gateway'; readonly reason: string };

export interface CallContext {
  readonly callId: string;
  readonly meetingId: string;
  readonly store: GatewayStore;
  readonly log: Logger;
  /** Our side of the SDP: address, codec preference, the session's o= line and our last answer. */
  readonly sdp: { readonly ip: string; readonly preference: readonly CodecName[]; origin: SdpOrigin; answer: string };
  readonly warningAgent: string;
  /** RFC 4733 DTMF as negotiated; undefined when the phone offered none. */
  readonly telephoneEvent: TelephoneEvent | undefined;
}

export class PhoneCall {
  /** The caller's key presses, from RTP (RFC 4733) and SIP INFO alike, each once. */
  readonly dtmf = new DtmfReceiver();
  private closed = false;
  private readonly startedAt = Date.now();
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;

  constructor(
    private readonly dialog: SipDialog,
    readonly media: PhoneMedia,
    private readonly context: CallContext,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    dialog.on('destroy', () => void this.close({ by: 'caller' }));
    dialog.on('modify', (request, response) => this.reinvite(request, response));
    dialog.on('info', (request, response) => this.info(request, response));
    const { telephoneEvent, log } = context;
    if (telephoneEvent) {
      const decoder = new TelephoneEventDecoder(telephoneEvent.clockRate, ({ digit, durationMs }) =>
        this.dtmf.receive({ digit, durationMs, source: 'rfc4733' }),
      );
      media.onTelephoneEvent(telephoneEvent.payloadType, (packet) => decoder.push(packet));
    }
    this.dtmf.on('digit', ({ digit, source }) => log.info({ digit, source }, 'DTMF digit'));
  }

  get callId(): string {
    return this.context.callId;
  }

  /** Resolves once the call has fully ended. */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  async close(end: CallEnd): Promise<void> {
    if (this.closed) return this.ended;
    this.closed = true;
    const { log, store, callId } = this.context;
    if (end.by === 'gateway') {
      // Signal first, without waiting for the caller's 200: an unresponsive phone must not hold the media.
      this.dialog
        .destroy({ headers: { Reason: `SIP;cause=200;text="${end.reason}"` } })
        .catch((err: Error) => log.warn({ reason: err.message }, 'BYE to the caller failed'));
    }
    this.media.close(end.by === 'caller' ? 'caller hung up' : end.reason);
    await store.removeCall(callId).catch((err: Error) => log.error({ reason: err.message }, 'call record not removed'));
    log.info(
      { endedBy: end.by, reason: end.by === 'gateway' ? end.reason : 'BYE', durationMs: Date.now() - this.startedAt },
      'call ended',
    );
    this.resolveEnded();
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
    const { sdp, log } = this.context;
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
