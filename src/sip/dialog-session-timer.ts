/**
 * A session timer (RFC 4028) running on one answered dialog: answers the caller's
 * refreshes (re-INVITE, UPDATE), sends ours when we are the refresher (UPDATE when the
 * caller allows it, else a re-INVITE with our current SDP), and says when the session
 * expired. The call owner decides what ending means; this only reports it.
 */
import type { Logger } from '../logger.js';
import {
  type SessionTimerDeal,
  type SessionTimerOutcome,
  type SessionTimerSettings,
  type TimerScheduler,
  NODE_TIMERS,
  SessionTimer,
  SessionTimerHeaderError,
  answeredRefreshDeal,
  negotiateRefresh,
  readSessionTimerRequest,
  refreshRequestHeaders,
  sessionTimerResponseHeaders,
  tooSmallHeaders,
} from './session-timer.js';
import type { SipDialog, SipRequest } from './srf.js';

export interface DialogSessionTimerOptions {
  readonly dialog: SipDialog;
  readonly deal: SessionTimerDeal;
  readonly settings: SessionTimerSettings;
  /** The caller's INVITE allowed UPDATE (its Allow header): our refreshes use it. */
  readonly callerAllowsUpdate: boolean;
  /** Our SDP as last sent, offered again in a refreshing re-INVITE. */
  readonly localSdp: () => string;
  /** No refresh came in time (or ours was refused with 408/481): end the call. */
  readonly expired: (why: string) => void;
  readonly log: Logger;
  readonly scheduler?: TimerScheduler;
}

/** What the call owner knows when it answers the INVITE; the rest comes from the call. */
export type SessionTimerStart = Pick<DialogSessionTimerOptions, 'deal' | 'settings' | 'callerAllowsUpdate' | 'scheduler'>;

/** How a caller's refresh is answered. */
export type RefreshAnswer =
  | { readonly kind: 'reject'; readonly status: number; readonly reason: string; readonly headers: Record<string, string> }
  /** Send the 2xx with `headers`, then call `confirm()`: the session runs from then. */
  | { readonly kind: 'accept'; readonly headers: Record<string, string>; confirm(): void };

/** Responses to our refresh that mean the dialog is gone (RFC 4028 §10). */
const SESSION_GONE = new Set([408, 481]);

export class DialogSessionTimer {
  private readonly timer: SessionTimer;
  private refreshing = false;

  constructor(private readonly options: DialogSessionTimerOptions) {
    this.timer = new SessionTimer(
      options.deal,
      { refreshDue: () => void this.sendRefresh(), expired: () => options.expired('session timer expired') },
      options.scheduler ?? NODE_TIMERS,
    );
    options.log.info({ sessionExpires: options.deal.interval, refresher: options.deal.refresher }, 'session timer running');
  }

  /** The answer to a re-INVITE or UPDATE from the caller. */
  answerRefresh(request: SipRequest): RefreshAnswer {
    let outcome: SessionTimerOutcome;
    try {
      outcome = negotiateRefresh(readSessionTimerRequest(request), this.timer.deal, this.options.settings);
    } catch (err) {
      if (!(err instanceof SessionTimerHeaderError)) throw err;
      return { kind: 'reject', status: err.sipStatus, reason: 'Bad Request', headers: {} };
    }
    if (outcome.kind === 'too-small') return { kind: 'reject', status: 422, reason: 'Session Interval Too Small', headers: tooSmallHeaders(outcome.minSE) };
    const deal = outcome.kind === 'timer' ? outcome.deal : this.timer.deal;
    return { kind: 'accept', headers: sessionTimerResponseHeaders(deal), confirm: () => this.timer.refreshed(deal) };
  }

  stop(): void {
    this.timer.stop();
  }

  private async sendRefresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const { dialog, log, callerAllowsUpdate, settings } = this.options;
    const deal = this.timer.deal;
    const headers = refreshRequestHeaders(deal, settings.minSE);
    const method = callerAllowsUpdate ? 'UPDATE' : 'INVITE';
    try {
      const response = await dialog.request(method === 'UPDATE' ? { method, headers } : { method, headers, body: this.options.localSdp() });
      if (response.status >= 200 && response.status < 300) {
        const answered = answeredDealOrSent(response, deal);
        this.timer.refreshed(answered);
        log.debug({ method, sessionExpires: answered.interval, refresher: answered.refresher }, 'session refreshed');
      } else if (SESSION_GONE.has(response.status)) {
        this.timer.stop();
        this.options.expired(`session refresh answered ${response.status}`);
      } else {
        // The session still ends at its expiry unless a refresh (theirs, or none) comes.
        log.warn({ method, status: response.status }, 'session refresh refused');
      }
    } catch (err) {
      log.warn({ method, reason: (err as Error).message }, 'session refresh not sent');
    } finally {
      this.refreshing = false;
    }
  }
}

/** A 2xx with a malformed Session-Expires still refreshed the session, on the terms we sent. */
function answeredDealOrSent(response: { get(name: string): string | undefined }, sent: SessionTimerDeal): SessionTimerDeal {
  try {
    return answeredRefreshDeal(response, sent);
  } catch (err) {
    if (err instanceof SessionTimerHeaderError) return sent;
    throw err;
  }
}
