/**
 * Whether a new INVITE may start a call set-up, decided before anything is spent on it
 * (no authentication, no store, no media). It refuses while this node drains, and sheds
 * load when too many set-ups are in flight or the media plane is too loaded, so calls
 * already up keep their quality. A refusal is a 503 with Retry-After (RFC 3261 §21.5.4,
 * §20.33), a little randomised so refused callers do not all come back at once.
 */
import type { Logger } from '../logger.js';
import type { MediaLoad } from '../media/media-load.js';

const DRAINING = 'draining: this gateway is shutting down; try again later';

export type RefusalReason = 'draining' | 'overloaded';

export interface CallAdmissionOptions {
  /** Set-ups (INVITE received, not yet answered and running) allowed at once. */
  readonly maxSetupsInFlight: number;
  /** Media load (0..1) from which new calls are refused. */
  readonly maxMediaLoad: number;
  /** The least Retry-After; refusals add up to half of it again at random. */
  readonly retryAfterSeconds: number;
}

/** A set-up that was let in; release() when it is over, however it ended. Idempotent. */
export interface Admitted {
  readonly admitted: true;
  release(): void;
}

export interface Refused {
  readonly admitted: false;
  readonly reason: RefusalReason;
  /** What the Warning header and the log say. */
  readonly detail: string;
  readonly retryAfterSeconds: number;
}

/** What /readyz and the drain API show. */
export interface AdmissionState {
  readonly draining: boolean;
  readonly setupsInFlight: number;
  /** Undefined when new calls are let in. */
  readonly overload: string | undefined;
  /** INVITEs refused since start, by reason (the metrics issue exports these). */
  readonly refused: Readonly<Record<RefusalReason, number>>;
}

export class CallAdmission {
  private isDraining = false;
  private inFlight = 0;
  private readonly refusals: Record<RefusalReason, number> = { draining: 0, overloaded: 0 };
  private shedding = false;

  constructor(
    private readonly options: CallAdmissionOptions,
    private readonly mediaLoad: MediaLoad,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** Lets a new INVITE start, or says why not. */
  admit(): Admitted | Refused {
    if (this.isDraining) return this.refuse('draining', DRAINING);
    const overload = this.overload();
    if (overload) {
      if (!this.shedding) this.log.warn({ overload }, 'overloaded: refusing new calls with 503');
      this.shedding = true;
      return this.refuse('overloaded', `overloaded: ${overload}`);
    }
    if (this.shedding) this.log.info({ refused: this.refusals.overloaded }, 'no longer overloaded: taking new calls');
    this.shedding = false;
    this.inFlight++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
      },
    };
  }

  /**
   * What an OPTIONS probe is told while this node drains (a SIP front's health check: 503
   * takes the node out of its rotation); undefined while it takes calls. An overload is
   * not told: it passes within seconds, and the INVITE's own 503 lets the front try another node.
   */
  probeRefusal(): Refused | undefined {
    return this.isDraining ? { admitted: false, reason: 'draining', detail: DRAINING, retryAfterSeconds: this.retryAfter() } : undefined;
  }

  /** From now on every INVITE is refused. Idempotent. */
  drain(): void {
    this.isDraining = true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  get setupsInFlight(): number {
    return this.inFlight;
  }

  state(): AdmissionState {
    return { draining: this.isDraining, setupsInFlight: this.inFlight, overload: this.overload(), refused: { ...this.refusals } };
  }

  /** For /readyz: undefined while new calls are taken, otherwise why not. */
  problem(): string | undefined {
    if (this.isDraining) return 'draining';
    const overload = this.overload();
    return overload && `overloaded: ${overload}`;
  }

  private overload(): string | undefined {
    const { maxSetupsInFlight, maxMediaLoad } = this.options;
    if (this.inFlight >= maxSetupsInFlight) return `${this.inFlight} call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT ${maxSetupsInFlight})`;
    const load = this.mediaLoad();
    if (load >= maxMediaLoad) return `media load ${Math.round(load * 100)}% (SIP_MAX_MEDIA_LOAD_PERCENT ${Math.round(maxMediaLoad * 100)})`;
    return undefined;
  }

  private refuse(reason: RefusalReason, detail: string): Refused {
    this.refusals[reason]++;
    return { admitted: false, reason, detail, retryAfterSeconds: this.retryAfter() };
  }

  private retryAfter(): number {
    const base = this.options.retryAfterSeconds;
    return base + Math.floor(this.random() * (Math.floor(base / 2) + 1));
  }
}
