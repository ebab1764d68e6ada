/**
 * SIP session timers (RFC 4028) as the UAS: what the caller's INVITE asks for, what we
 * answer, and the clock that refreshes or ends the session. Pure negotiation functions
 * plus a SessionTimer that only knows a scheduler and two callbacks, so it can follow
 * whichever object owns the call.
 */
import { GatewayError } from '../errors.js';

export type Refresher = 'uac' | 'uas';

/** What a request says about session timers (RFC 4028 §4, §5). */
export interface SessionTimerRequest {
  /** Session-Expires delta-seconds, if the request carries one. */
  readonly sessionExpires: number | undefined;
  readonly refresher: Refresher | undefined;
  /** Min-SE, if present. */
  readonly minSE: number | undefined;
  /** `timer` in Supported or Require: the caller can refresh and understands 422. */
  readonly supportsTimer: boolean;
}

/** Our side: SESSION_MIN_SE_SECONDS and SESSION_EXPIRES_SECONDS. */
export interface SessionTimerSettings {
  readonly minSE: number;
  readonly sessionExpires: number;
}

/** The session timer of an answered dialog. */
export interface SessionTimerDeal {
  readonly interval: number;
  /** Who refreshes, named by the roles of the caller's INVITE: `uac` the caller, `uas` the gateway. */
  readonly refresher: Refresher;
  /** The caller supports timer: it gets `Require: timer`. */
  readonly callerSupportsTimer: boolean;
}

/** An INVITE asked for a session interval below our minimum: 422 with our Min-SE (RFC 4028 §6). */
export class SessionIntervalTooSmall extends GatewayError {
  /** A bad request, answered with the status RFC 4028 gives it. */
  override readonly sipStatus: number = 422;

  constructor(
    readonly asked: number,
    readonly minSE: number,
  ) {
    super('bad_request', `session interval ${asked} s is below our minimum of ${minSE} s`);
    this.name = 'SessionIntervalTooSmall';
  }
}

export type SessionTimerOutcome =
  /** 422 Session Interval Too Small, with `Min-SE: minSE`. */
  | { readonly kind: 'too-small'; readonly minSE: number }
  /** The caller neither asked for nor supports a timer: none runs, none is sent. */
  | { readonly kind: 'none' }
  | { readonly kind: 'timer'; readonly deal: SessionTimerDeal };

/** A Session-Expires or Min-SE value that is not delta-seconds, or a refresher that is neither uac nor uas. */
export class SessionTimerHeaderError extends GatewayError {
  constructor(header: string, value: string) {
    super('bad_request', `${header} "${value}" is not valid (RFC 4028: delta-seconds, refresher=uac|uas)`);
    this.name = 'SessionTimerHeaderError';
  }
}

/** RFC 4028 §4: delta-seconds, at most 2^32-1 per RFC 3261's grammar; larger is treated as that. */
const MAX_DELTA = 4_294_967_295;

/**
 * The longest session interval we agree to: a day. RFC 4028 §9 lets the UAS lower an asked
 * interval; without a cap a huge one (up to 2^32-1 s) overflows Node's timers, which then
 * fire at once and end the call.
 */
const MAX_SESSION_INTERVAL_SECONDS = 86_400;

const capped = (interval: number) => Math.min(interval, MAX_SESSION_INTERVAL_SECONDS);

function deltaSeconds(header: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new SessionTimerHeaderError(header, value);
  return Math.min(Number(value), MAX_DELTA);
}

function parseSessionExpires(value: string): { seconds: number; refresher: Refresher | undefined } {
  const [delta = '', ...params] = value.split(';').map((part) => part.trim());
  const seconds = deltaSeconds('Session-Expires', delta);
  let refresher: Refresher | undefined;
  for (const param of params) {
    const [name = '', paramValue] = param.split('=').map((part) => part.trim());
    if (name.toLowerCase() !== 'refresher') continue;
    const who = paramValue?.toLowerCase();
    if (who !== 'uac' && who !== 'uas') throw new SessionTimerHeaderError('Session-Expires', value);
    refresher = who;
  }
  return { seconds, refresher };
}

function hasOptionTag(value: string | undefined, tag: string): boolean {
  return (value ?? '').split(',').some((option) => option.trim().toLowerCase() === tag);
}

/** Header access as drachtio-srf's request gives it (compact forms are expanded by the stack). */
export interface HeaderSource {
  get(name: string): string | undefined;
}

/** Reads a request's session timer headers; throws SessionTimerHeaderError for a malformed one. */
export function readSessionTimerRequest(request: HeaderSource): SessionTimerRequest {
  // `x` is Session-Expires' compact form (RFC 4028 §4).
  const sessionExpiresValue = request.get('Session-Expires') ?? request.get('x');
  const minSEValue = request.get('Min-SE');
  const sessionExpires = sessionExpiresValue === undefined ? undefined : parseSessionExpires(sessionExpiresValue);
  // Min-SE may carry generic parameters (RFC 4028 §5); only the delta matters.
  const minSE = minSEValue === undefined ? undefined : deltaSeconds('Min-SE', minSEValue.split(';')[0]!.trim());
  return {
    sessionExpires: sessionExpires?.seconds,
    refresher: sessionExpires?.refresher,
    minSE,
    supportsTimer: hasOptionTag(request.get('Supported') ?? request.get('k'), 'timer') || hasOptionTag(request.get('Require'), 'timer'),
  };
}

/** The caller's Allow lists UPDATE (RFC 3311): our refreshes may use it instead of a re-INVITE. */
export function allowsUpdate(request: HeaderSource): boolean {
  return hasOptionTag(request.get('Allow'), 'update');
}

/**
 * The UAS's choice for an initial INVITE (RFC 4028 §9): an asked interval below our
 * minimum is refused with 422; otherwise the asked interval is kept (a UAS must not raise
 * it). Without one, a caller that supports timer gets ours (never below its Min-SE). The
 * refresher is the caller's choice, else the caller when it supports timer, else us.
 */
export function negotiateSessionTimer(request: SessionTimerRequest, settings: SessionTimerSettings): SessionTimerOutcome {
  if (request.sessionExpires !== undefined && request.sessionExpires < settings.minSE) return { kind: 'too-small', minSE: settings.minSE };
  if (request.sessionExpires === undefined && !request.supportsTimer) return { kind: 'none' };
  const interval = capped(request.sessionExpires ?? Math.max(settings.sessionExpires, request.minSE ?? 0, settings.minSE));
  return { kind: 'timer', deal: { interval, refresher: chooseRefresher(request), callerSupportsTimer: request.supportsTimer } };
}

function chooseRefresher(request: SessionTimerRequest): Refresher {
  // A caller that does not support timer cannot refresh (RFC 4028 §9: refresher=uas).
  if (!request.supportsTimer) return 'uas';
  return request.refresher ?? 'uac';
}

/**
 * A refresh the caller sends (re-INVITE or UPDATE, RFC 4028 §9 applied again): the same
 * minimum; without Session-Expires the session goes on as it was; without a refresher
 * parameter the current refresher stays.
 */
export function negotiateRefresh(request: SessionTimerRequest, current: SessionTimerDeal, settings: SessionTimerSettings): SessionTimerOutcome {
  if (request.sessionExpires === undefined) return { kind: 'timer', deal: current };
  if (request.sessionExpires < settings.minSE) return { kind: 'too-small', minSE: settings.minSE };
  const refresher = current.callerSupportsTimer ? (request.refresher ?? current.refresher) : 'uas';
  return { kind: 'timer', deal: { ...current, interval: capped(request.sessionExpires), refresher } };
}

/** The headers a 2xx carries for the deal: `Require: timer` only to a caller that supports it (RFC 4028 §9). */
export function sessionTimerResponseHeaders(deal: SessionTimerDeal): Record<string, string> {
  return {
    'Session-Expires': `${deal.interval};refresher=${deal.refresher}`,
    ...(deal.callerSupportsTimer && { Require: 'timer' }),
  };
}

/** The headers of a 422 (RFC 4028 §6). */
export function tooSmallHeaders(minSE: number): Record<string, string> {
  return { 'Min-SE': String(minSE) };
}

/**
 * The headers of a refresh we send as the refresher (RFC 4028 §7.4). The refresher
 * parameter names the roles of this request, in which we are the UAC.
 */
export function refreshRequestHeaders(deal: SessionTimerDeal, minSE: number): Record<string, string> {
  return { 'Session-Expires': `${deal.interval};refresher=uac`, 'Min-SE': String(minSE), Supported: 'timer' };
}

/**
 * The deal after the caller's 2xx to our refresh: it may change the interval. Its
 * refresher parameter names the roles of our request (`uac` is the gateway there).
 */
export function answeredRefreshDeal(response: HeaderSource, sent: SessionTimerDeal): SessionTimerDeal {
  const answered = readSessionTimerRequest(response);
  if (answered.sessionExpires === undefined) return sent;
  const refresher: Refresher = answered.refresher === undefined ? sent.refresher : answered.refresher === 'uac' ? 'uas' : 'uac';
  return { ...sent, interval: capped(answered.sessionExpires), refresher };
}

/** When the refresher sends its refresh: half the interval (RFC 4028 §10). */
export function refreshDelayMs(interval: number): number {
  return (interval * 1000) / 2;
}

/** When a session without a refresh ends: the interval minus min(32 s, a third of it) (RFC 4028 §10). */
export function expiryDelayMs(interval: number): number {
  return (interval - Math.min(32, interval / 3)) * 1000;
}

export interface TimerScheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const NODE_TIMERS: TimerScheduler = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface SessionTimerCallbacks {
  /** We are the refresher and the refresh is due. */
  readonly refreshDue: () => void;
  /** No refresh came in time: the session is over. */
  readonly expired: () => void;
}

/**
 * The clock of one dialog's session: a refresh due at half the interval when we refresh,
 * and the end of the session when no refresh has come (RFC 4028 §10). Every successful
 * refresh, whoever sent it, starts both again with the deal it agreed.
 */
export class SessionTimer {
  private refreshHandle: unknown;
  private expiryHandle: unknown;
  private stopped = false;

  constructor(
    private current: SessionTimerDeal,
    private readonly callbacks: SessionTimerCallbacks,
    private readonly scheduler: TimerScheduler = NODE_TIMERS,
  ) {
    this.arm();
  }

  get deal(): SessionTimerDeal {
    return this.current;
  }

  /** A refresh succeeded (either side's): the session runs for the agreed interval from now. */
  refreshed(deal: SessionTimerDeal): void {
    if (this.stopped) return;
    this.current = deal;
    this.clear();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private arm(): void {
    const { interval, refresher } = this.current;
    if (refresher === 'uas') {
      this.refreshHandle = this.scheduler.setTimeout(() => {
        this.refreshHandle = undefined;
        this.callbacks.refreshDue();
      }, refreshDelayMs(interval));
    }
    this.expiryHandle = this.scheduler.setTimeout(() => {
      this.expiryHandle = undefined;
      this.stopped = true;
      this.clear();
      this.callbacks.expired();
    }, expiryDelayMs(interval));
  }

  private clear(): void {
    if (this.refreshHandle !== undefined) this.scheduler.clearTimeout(this.refreshHandle);
    if (this.expiryHandle !== undefined) this.scheduler.clearTimeout(this.expiryHandle);
    this.refreshHandle = undefined;
    this.expiryHandle = undefined;
  }
}
