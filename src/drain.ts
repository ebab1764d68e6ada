/**
 * Taking this node out of service without cutting calls (a rolling restart): new calls
 * are refused from the start (503 + Retry-After, /readyz 503 "draining"), live calls and
 * browsers go on until none is left or DRAIN_SECONDS has passed, then the gateway closes
 * with the reason 'draining' (a BYE for each call left, a notice for each browser).
 * The calls this node proxied to the nodes hosting their meetings count too: its SIP
 * server relays their dialogs (record-route), so it stays until they end or time is up.
 * When time is up with such calls left, it cannot send their BYEs (their dialogs are the
 * phone's and the owner's): it asks the owners to end them, and waits a little for that.
 */
import type { Logger } from './logger.js';

/** What is still going on at this node. */
export interface LiveSessions {
  readonly setupsInFlight: number;
  readonly calls: number;
  /** Browsers and phones in this node's meetings. */
  readonly participants: number;
}

export interface DrainStatus extends LiveSessions {
  readonly state: 'draining';
  /** Calls this node proxied to another node that are still live there, as last counted. */
  readonly relayedCalls: number;
  readonly startedAt: string;
  /** When whatever is left is ended. */
  readonly deadline: string;
}

export interface DrainDeps {
  /** Called once, when the drain starts: from then on no new call is let in. */
  stopAdmitting(): void;
  live(): LiveSessions;
  /** Counts the live calls this node proxied to other nodes (from the shared call records). */
  relayedCalls(): Promise<number>;
  /** Called once, when time is up with relayed calls left: asks the nodes holding them to end them. */
  endRelays(): void;
  /** Closes the gateway; the drain calls it once, when nothing is left or time is up. */
  close(reason: 'draining'): Promise<void>;
  readonly drainMs: number;
  readonly log: Logger;
}

/** How often the drain looks whether anything is left. */
const POLL_MS = 250;
/** How long, past the drain time, the owners have to end the calls this node relays (they look each second). */
export const RELAY_END_MS = 5000;

export class Drain {
  private started: { readonly at: number; readonly timer: NodeJS.Timeout } | undefined;
  private stopped = false;
  private relayed = 0;
  private counting = false;
  private counted = false;
  /** When the owners were asked to end the relayed calls (time was up with some left). */
  private relaysEndingSince: number | undefined;
  /** Said once per run of failures, not every poll. */
  private countFailing = false;

  constructor(private readonly deps: DrainDeps) {}

  /** Starts the drain; later calls only report it. */
  start(): DrainStatus {
    if (!this.started && !this.stopped) {
      const at = Date.now();
      this.deps.stopAdmitting();
      this.deps.log.info({ drainSeconds: this.deps.drainMs / 1000, ...this.deps.live() }, 'draining: new calls refused, live calls go on until they end or the drain time is up');
      this.started = { at, timer: setInterval(() => this.check(), POLL_MS) };
      this.check();
    }
    return this.status();
  }

  get draining(): boolean {
    return this.started !== undefined;
  }

  /** Whether the owners of the calls this node relays are to end them (its drain time is up). */
  get endingRelays(): boolean {
    return this.relaysEndingSince !== undefined;
  }

  /** The gateway is closing anyway: stop watching. */
  stop(): void {
    this.stopped = true;
    if (this.started) clearInterval(this.started.timer);
  }

  private status(): DrainStatus {
    const at = this.started?.at ?? Date.now();
    return {
      state: 'draining',
      startedAt: new Date(at).toISOString(),
      deadline: new Date(at + this.deps.drainMs).toISOString(),
      ...this.deps.live(),
      relayedCalls: this.relayed,
    };
  }

  private check(): void {
    if (!this.started || this.stopped) return;
    if (!this.counting) {
      this.counting = true;
      this.deps
        .relayedCalls()
        .then(
          (count) => {
            this.relayed = count;
            this.countFailing = false;
          },
          // The store out of reach: the last count stands, and DRAIN_SECONDS still bounds the wait.
          (err: unknown) => {
            if (!this.countFailing) this.deps.log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'counting the calls this node relays failed');
            this.countFailing = true;
          },
        )
        .finally(() => {
          this.counting = false;
          this.counted = true;
          this.decide();
        });
    }
    // Not waiting for the count: a store that does not answer must not hold the drain past its time.
    this.decide();
  }

  private decide(): void {
    if (!this.started || this.stopped) return;
    const live = { ...this.deps.live(), relayedCalls: this.relayed };
    const left = live.setupsInFlight + live.calls + live.participants + live.relayedCalls;
    const timeUp = Date.now() - this.started.at >= this.deps.drainMs;
    // Nothing is known to be left only once the relayed calls were counted.
    if ((left > 0 || !this.counted) && !timeUp) return;
    if (timeUp && live.relayedCalls > 0 && !this.relaysEnded()) return;
    this.stop();
    if (left === 0) this.deps.log.info('drained: no call or participant left');
    else this.deps.log.warn(live, 'drain time is up: ending what is left');
    this.deps.close('draining').catch((err: unknown) => this.deps.log.error({ err }, 'closing after the drain failed'));
  }

  /** Whether the relayed calls may be left now: the owners were asked to end them, and had their time. */
  private relaysEnded(): boolean {
    if (this.relaysEndingSince === undefined) {
      this.relaysEndingSince = Date.now();
      this.deps.log.warn({ relayedCalls: this.relayed }, 'drain time is up: asking the nodes holding the calls this node relays to end them');
      this.deps.endRelays();
      return false;
    }
    return Date.now() - this.relaysEndingSince >= RELAY_END_MS;
  }
}
