/**
 * SIP timer values and the clock the stand-in schedules them on. Both are injectable so
 * tests can replay 32-second schedules on a manual clock instead of waiting for them.
 */

/** RFC 3261 base timers, in ms. T1 drives every retransmission; 64*T1 every timeout. */
export interface SipTimerValues {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
}

export const RFC3261_TIMERS: SipTimerValues = { t1: 500, t2: 4000, t4: 5000 };

/** Opaque to the stand-in: whatever the scheduler hands back. */
export type TimerHandle = object;

/** Where timers run. The default reads the global timer functions at call time, so vitest fake timers also work. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export interface Timer {
  cancel(): void;
}

/** Runs a callback once the network input already waiting has been handled. */
export type InputGate = (fn: () => void) => void;

/** Owns every timer the stand-in starts, so close() can cancel whatever is still pending. */
export class TimerSet {
  private readonly live = new Set<TimerHandle>();
  private inputGate: InputGate = (fn) => fn();

  constructor(
    private readonly scheduler: Scheduler,
    readonly values: SipTimerValues,
    /** A timer callback that throws must not take the process down. */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(ms: number, fn: () => void): Timer {
    const handle = this.scheduler.setTimeout(() => {
      this.live.delete(handle);
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    }, ms);
    this.live.add(handle);
    return {
      cancel: () => {
        if (this.live.delete(handle)) this.scheduler.clearTimeout(handle);
      },
    };
  }

  /** Where `afterPendingInput` waits: the SIP transport, once it is open. */
  gateOn(gate: InputGate): void {
    this.inputGate = gate;
  }

  /**
   * Runs `fn` after the messages already received but not yet read are handled (at once
   * without a gate). A retransmission timer that came due while the event loop was busy
   * waits here, so the ACK or response sitting on the socket can stop it first.
   */
  afterPendingInput(fn: () => void): void {
    this.inputGate(() => {
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    });
  }

  get pending(): number {
    return this.live.size;
  }

  cancelAll(): void {
    for (const handle of this.live) this.scheduler.clearTimeout(handle);
    this.live.clear();
  }
}
