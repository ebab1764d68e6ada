/**
 * The limits an answered call runs under, so none can hang forever: a phone that vanished
 * without a BYE (unplugged, out of coverage, a crashed softphone) sends no more RTP or
 * RTCP, and is ended after RTP_TIMEOUT_SECONDS (on hold, RTP_HOLD_TIMEOUT_SECONDS: a
 * holding phone may send nothing on purpose); MAX_CALL_SECONDS caps any call. Carriers
 * bill for calls nobody tore down, so each ends with a BYE and a Q.850 cause.
 */
import { Q850, type Q850Cause } from './call-end.js';
import type { Call } from './call.js';

export interface CallLimits {
  /** No RTP or RTCP from a phone that is not holding the call for this long ends it; 0: never. */
  readonly rtpTimeoutMs: number;
  /** The same while the phone holds the call; 0: never. */
  readonly rtpHoldTimeoutMs: number;
  /** The longest a call may last; 0: no limit. */
  readonly maxCallMs: number;
}

/** What the limits read of a call's media. */
export interface SupervisedMedia {
  /** When the phone last sent RTP or RTCP (epoch ms); undefined before its first packet. */
  lastReceivedAt(): number | undefined;
  /** Whether the phone holds the call (sends only, or nothing, on purpose). */
  readonly onHold: boolean;
}

export interface LimitClock {
  now(): number;
  setInterval(fn: () => void, ms: number): { unref?(): void };
  clearInterval(handle: unknown): void;
}

const REAL_CLOCK: LimitClock = {
  now: Date.now,
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** How often a call's media is looked at: a quarter of the shortest limit, at most once a second. */
function checkIntervalMs(limits: CallLimits): number {
  const set = [limits.rtpTimeoutMs, limits.rtpHoldTimeoutMs, limits.maxCallMs].filter((ms) => ms > 0);
  return Math.max(50, Math.min(1000, ...set.map((ms) => ms / 4)));
}

/**
 * Watches an answered call until it closes (the call stops the watch as it closes). Silence is counted from the last packet, or
 * from now when the phone has sent none yet; a hold or unhold starts the count afresh, so
 * a phone coming back from hold gets the whole timeout to resume.
 */
export function superviseCall(call: Call, media: SupervisedMedia, limits: CallLimits, clock: LimitClock = REAL_CLOCK): void {
  if (!call.isOpen || (limits.rtpTimeoutMs === 0 && limits.rtpHoldTimeoutMs === 0 && limits.maxCallMs === 0)) return;
  const answeredAt = clock.now();
  let onHold = media.onHold;
  let quietSince = answeredAt;
  const check = () => {
    const now = clock.now();
    if (limits.maxCallMs > 0 && now - answeredAt >= limits.maxCallMs) {
      return end(`maximum call duration of ${limits.maxCallMs / 1000} s reached`, Q850.normalClearing);
    }
    if (media.onHold !== onHold) {
      onHold = media.onHold;
      quietSince = now;
    }
    const last = media.lastReceivedAt();
    if (last !== undefined && last > quietSince) quietSince = last;
    const timeoutMs = onHold ? limits.rtpHoldTimeoutMs : limits.rtpTimeoutMs;
    if (timeoutMs > 0 && now - quietSince >= timeoutMs) {
      end(`no RTP or RTCP from the phone for ${Math.round((now - quietSince) / 1000)} s${onHold ? ' on hold' : ''}`, Q850.recoveryOnTimerExpiry);
    }
  };
  const timer = clock.setInterval(check, checkIntervalMs(limits));
  timer.unref?.();
  const end = (reason: string, cause: Q850Cause) => void call.close({ by: 'gateway', reason, cause });
  call.adoptTimer({ stop: () => clock.clearInterval(timer) });
}
