/**
 * One call, owned from the moment the gateway starts handling its INVITE to its end:
 * `setting-up` → `answered` → `closing` → `closed`. Every way a call ends (the caller's
 * BYE or CANCEL, drachtio-server's ACK timeout, the meeting ending, the media dying, an
 * operator's hang-up, a failed step, shutdown) goes through close(), which does what the
 * state needs, in one order: signal first (a final response before the answer, a BYE
 * after it), then read an answered call's quality from its media and release the media,
 * then forget the call (store, then memory), then log one summary line and tell the
 * observer (the metrics, the webhooks), which also hears when the call rings and is answered.
 *
 * The signaling side (SIP) and the media are ports: this module knows neither drachtio nor
 * mediasoup.
 */
import type { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallQualityReport } from '../media/quality/call-quality.js';
import type { ActiveCall, GatewayStore } from '../store/store.js';
import { withTimeout } from '../timeout.js';
import type { CallEnd, GatewayEnd } from './call-end.js';

export type CallState = 'setting-up' | 'answered' | 'closing' | 'closed';

/** How a call tells the phone it ended. */
export interface CallSignaling {
  /** Refuses the INVITE: `status` is 487 after a CANCEL, else the error's SIP status (500 without one). */
  reject(status: number, error: GatewayError | undefined): void;
  /** Ends the answered call with a BYE that says why. */
  bye(end: GatewayEnd): void;
}

export interface CallMedia {
  close(reason: string): void;
  /** The call's quality so far; read for the call's summary just before its media closes. */
  qualityReport?(): Promise<CallQualityReport | undefined>;
}

/** How a call ended, as its summary line says. */
export interface CallSummary {
  /** The state it had reached when it began to close. */
  readonly reached: CallState;
  readonly end: CallEnd;
  /** The final response that refused it, before the answer. */
  readonly status?: number;
  /** The Q.850 cause of our BYE, after it. */
  readonly cause?: number;
  readonly durationMs: number;
  /** An answered call's quality, when its media could say. */
  readonly quality?: CallQualityReport;
}

/** Who hears of every call's progress (the metrics, the webhooks); it must not throw. */
export interface CallObserver<Signaling extends CallSignaling = CallSignaling, Media extends CallMedia = CallMedia> {
  /** The caller is authenticated and admitted to a meeting that can be joined; the answer is next. */
  ringing?(call: Call<Signaling, Media>): void;
  /** Our 200 OK went out (dial-in), or the callee's came (dial-out). */
  answered(call: Call<Signaling, Media>): void;
  /** The call has closed. */
  ended(call: Call<Signaling, Media>, summary: CallSummary): void;
}

/** A timer that runs for the call (its session timer): the call stops it when it closes. */
export interface CallTimer {
  stop(): void;
}

export interface CallOptions<Signaling extends CallSignaling, Media extends CallMedia = CallMedia> {
  readonly callId: string;
  readonly meetingId: string;
  /** The node that proxied the call here, as its verified hand-off says; recorded with the call. */
  readonly viaNodeId?: string;
  readonly signaling: Signaling;
  readonly store: Pick<GatewayStore, 'putCall' | 'removeCall'>;
  /** Carries callId and meetingId. */
  readonly log: Logger;
  /** Removes the call from the registry that holds it. */
  readonly forget: () => void;
  readonly observer?: CallObserver<Signaling, Media>;
}

/** Thrown by a set-up step that finds its call ended meanwhile: nothing is left to do. */
export class CallEndedError extends Error {
  constructor() {
    super('the call ended during set-up');
    this.name = 'CallEndedError';
  }
}

const INTERNAL_ERROR = 500;
const REQUEST_TERMINATED = 487;
/** How long the summary waits for the media's quality: a stuck media thread must not hold the close. */
const QUALITY_TIMEOUT_MS = 500;
/** How long a close waits for news of a 200 OK still on its way: drachtio-server sends it at once, the stand-in within T1 (500 ms). */
const ANSWER_NEWS_TIMEOUT_MS = 2_000;

export class Call<Signaling extends CallSignaling = CallSignaling, Media extends CallMedia = CallMedia> {
  readonly callId: string;
  readonly meetingId: string;
  readonly signaling: Signaling;
  /** Carries callId and meetingId. */
  readonly log: Logger;
  private current: CallState = 'setting-up';
  private mediaInUse: Media | undefined;
  private readonly timers = new Set<CallTimer>();
  /** Whether a record was issued: only then is there one to remove. */
  private recorded = false;
  private readonly aborter = new AbortController();
  private closing: Promise<void> | undefined;
  /** When the INVITE was taken up (epoch ms). */
  readonly startedAt = Date.now();
  /** The caller as the meeting sees them; known from ringing() on. */
  private callerShown: string | undefined;
  /** When our 200 OK went out (epoch ms); undefined before. */
  private answeredAtMs: number | undefined;
  /**
   * While drachtio-server has not yet said whether our 200 OK went out: settles once it has
   * (answered() done if it did), and is then dropped, so a close has nothing to wait for.
   */
  private answerNews: Promise<void> | undefined;
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;

  constructor(private readonly options: CallOptions<Signaling, Media>) {
    this.callId = options.callId;
    this.meetingId = options.meetingId;
    this.signaling = options.signaling;
    this.log = options.log;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get state(): CallState {
    return this.current;
  }

  /** Set up or answered: neither closing nor closed. */
  get isOpen(): boolean {
    return this.current === 'setting-up' || this.current === 'answered';
  }

  /** Aborted (its reason the CallEnd) the moment the call starts closing: whatever waits on the caller stops. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  get media(): Media | undefined {
    return this.mediaInUse;
  }

  /** The caller as the meeting sees them (a phone number masked); undefined until the call rang. */
  get caller(): string | undefined {
    return this.callerShown;
  }

  get answeredAt(): number | undefined {
    return this.answeredAtMs;
  }

  /** The node that proxied the call here; undefined for a call taken directly. */
  get viaNodeId(): string | undefined {
    return this.options.viaNodeId;
  }

  /** Resolves once the call has fully ended. */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /**
   * Awaits one set-up step, then throws CallEndedError if the call ended meanwhile. A step
   * runs to its end either way, so what it allocated is released by whoever owns it.
   */
  async step<T>(work: Promise<T>): Promise<T> {
    const result = await work;
    if (!this.isOpen) throw new CallEndedError();
    return result;
  }

  /** The call owns its media from here on; media opened for a call that ended meanwhile is released at once. */
  adoptMedia(media: Media): Media {
    if (!this.isOpen) {
      media.close('the call ended during set-up');
      throw new CallEndedError();
    }
    this.mediaInUse = media;
    return media;
  }

  /** The call owns the timer from here on; a timer started for a call that ended meanwhile is stopped at once. */
  adoptTimer(timer: CallTimer): void {
    if (!this.isOpen) return timer.stop();
    this.timers.add(timer);
  }

  /** The caller is authenticated and admitted to a meeting that can be joined, shown as `caller`; the answer is next. */
  ringing(caller: string): void {
    if (!this.isOpen) throw new CallEndedError();
    this.callerShown = caller;
    this.options.observer?.ringing?.(this);
  }

  /** The call is answered now (a dial-out's callee sent its 200): from now on it ends with a BYE, never a final response. */
  answering(): void {
    if (!this.isOpen) throw new CallEndedError();
    this.current = 'answered';
    this.answered();
  }

  /**
   * Sends our 200 OK with send(), which settles once drachtio-server says it went out: from
   * now on the call ends with a BYE, never a final response. Its observers hear of the
   * answer only then, since a CANCEL may cross the 200 (see answerCrossed); a close begun
   * meanwhile (the caller's ACK and BYE can come in the same read as that news) waits for
   * it before telling them the end, so they hear answered, then ended.
   */
  sendAnswer(send: () => Promise<void>): Promise<void> {
    if (!this.isOpen) return Promise.reject(new CallEndedError());
    this.current = 'answered';
    const sent = send();
    this.answerNews = sent.then(
      () => {
        this.answerNews = undefined;
        this.answered();
      },
      () => void (this.answerNews = undefined),
    );
    return this.step(sent);
  }

  /**
   * Our 200 OK never went out: drachtio-server had answered the INVITE 487 to the caller's
   * CANCEL when the 200 reached it. The call was never answered (RFC 3261 §9.2): it ends as
   * one being set up, without the BYE an answered call would get.
   */
  answerCrossed(): void {
    if (this.current === 'answered') this.current = 'setting-up';
  }

  /** Tells the observers of the answer, unless they have been told the call's end already. */
  private answered(): void {
    if (this.current === 'closed') return;
    this.answeredAtMs = Date.now();
    this.options.observer?.answered(this);
  }

  /** Records the call in the store; once issued, close() removes it, whenever the write lands. */
  record(call: Omit<ActiveCall, 'callId' | 'meetingId' | 'viaNodeId'>): Promise<void> {
    if (!this.isOpen) return Promise.reject(new CallEndedError());
    this.recorded = true;
    const { viaNodeId } = this.options;
    return this.options.store.putCall({ ...call, callId: this.callId, meetingId: this.meetingId, ...(viaNodeId !== undefined && { viaNodeId }) });
  }

  /** Ends the call however far it got. Idempotent: every caller gets the one close. */
  close(end: CallEnd): Promise<void> {
    this.closing ??= this.closeFrom(this.current, end);
    return this.closing;
  }

  private async closeFrom(reached: CallState, end: CallEnd): Promise<void> {
    const { store } = this.options;
    const { log } = this;
    this.current = 'closing';
    // No refresh or expiry of a call that is already ending.
    for (const timer of this.timers) timer.stop();
    this.timers.clear();
    const signalled = this.signalEnd(reached, end);
    // With the end as its reason: abort() without one builds a DOMException and its stack trace, for every call.
    this.aborter.abort(end);
    const quality = reached === 'answered' ? await this.finalQuality() : undefined;
    this.mediaInUse?.close(end.by === 'caller' ? `caller sent ${end.reason}` : end.reason);
    if (this.recorded) await store.removeCall(this.callId).catch((err: Error) => log.error({ reason: err.message }, 'call record not removed'));
    this.options.forget();
    if (reached === 'answered' && this.answerNews) await withTimeout(this.answerNews, ANSWER_NEWS_TIMEOUT_MS, 'news of our 200 OK').catch(() => undefined);
    this.current = 'closed';
    const durationMs = Date.now() - this.startedAt;
    const line = { state: reached, endedBy: end.by, reason: end.reason, durationMs, ...signalled, ...(quality && { quality }) };
    if (end.by === 'gateway' && end.quiet) log.debug(line, 'call ended');
    else log.info(line, 'call ended');
    const summary: CallSummary = { reached, end, durationMs, ...signalled, ...(quality && { quality }) };
    this.options.observer?.ended(this, summary);
    this.resolveEnded();
  }

  /** The media's last word on the call's quality; none when it cannot say in time. */
  private async finalQuality(): Promise<CallQualityReport | undefined> {
    const report = this.mediaInUse?.qualityReport?.();
    if (!report) return undefined;
    return withTimeout(report, QUALITY_TIMEOUT_MS, 'reading the call quality').catch(() => undefined);
  }

  /** Signals the end as the state needs; returns what was sent, for the summary line. */
  private signalEnd(reached: CallState, end: CallEnd): { status?: number; cause?: number } {
    // The hand-off itself was the INVITE's signaling: the owner answers it.
    if (end.by === 'hand-off') return {};
    if (reached === 'answered') {
      // The caller's BYE, or drachtio's own, has already ended the dialog.
      if (end.by !== 'gateway') return {};
      this.guard(() => this.signaling.bye(end));
      return { cause: end.cause };
    }
    const error = end.by === 'gateway' ? end.error : undefined;
    const status = end.by === 'caller' ? REQUEST_TERMINATED : (error?.sipStatus ?? INTERNAL_ERROR);
    this.guard(() => this.signaling.reject(status, error));
    return { status };
  }

  /** A signaling failure must not keep the media or the record alive. */
  private guard(signal: () => void): void {
    try {
      signal();
    } catch (err) {
      this.log.error({ err }, 'ending the call on the signaling side failed');
    }
  }
}
