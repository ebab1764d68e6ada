/**
 * The mixer's 20 ms clock. Each tick is scheduled against the absolute time it is due
 * (start + n·20 ms), never relative to the last timer firing, so timer lateness does not
 * accumulate into drift: over any run the tick count stays within one of elapsed/20 ms.
 * Ticks a stalled event loop missed run at once, up to a limit; beyond it the clock
 * skips ahead rather than bursting seconds of audio. They run after the loop has read
 * the I/O that is ready (Node runs timers before it polls), so the packets that came
 * during a stall are in the jitter buffers when the ticks that catch up on it play.
 */
import { LatenessHistogram } from './lateness-histogram.js';

export interface TimeSource {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `callback` once the I/O ready now has been read (setImmediate); without it, ticks run at once. */
  afterPendingIo?(callback: () => void): void;
}

export const REAL_TIME: TimeSource = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  afterPendingIo: (callback) => void setImmediate(callback),
};

/** How late (in ticks) the clock may run behind before it skips instead of catching up. */
const MAX_CATCH_UP_TICKS = 5;

export class TickClock {
  private started: number | undefined;
  private ticks = 0;
  private timer: unknown;
  /** How late the most recent ticks ran, in ms (a ring of `latenessWindow` entries). */
  private readonly lateness: Float64Array;
  private latenessCount = 0;
  /** Every tick's lateness since the clock was made, in buckets. */
  readonly latenessHistogram = new LatenessHistogram();

  constructor(
    private readonly onTick: (tick: number) => void,
    readonly periodMs = 20,
    private readonly time: TimeSource = REAL_TIME,
    latenessWindow = 500,
  ) {
    this.lateness = new Float64Array(latenessWindow);
  }

  /** Ticks since the last start(). */
  get tickCount(): number {
    return this.ticks;
  }

  start(): void {
    if (this.started !== undefined) return;
    this.started = this.time.now();
    this.ticks = 0;
    this.schedule();
  }

  stop(): void {
    this.time.clearTimeout(this.timer);
    this.started = undefined;
  }

  /** How late each of the most recent ticks ran (ms), oldest first. */
  recentLateness(): number[] {
    const size = this.lateness.length;
    const count = Math.min(this.latenessCount, size);
    const start = this.latenessCount - count;
    return Array.from({ length: count }, (_, i) => this.lateness[(start + i) % size]!);
  }

  private schedule(): void {
    const due = this.started! + (this.ticks + 1) * this.periodMs;
    this.timer = this.time.setTimeout(() => this.fire(), Math.max(0, due - this.time.now()));
  }

  private fire(): void {
    const started = this.started;
    if (started === undefined) return;
    if (!this.time.afterPendingIo) return this.runDueTicks();
    this.time.afterPendingIo(() => {
      // Not after a stop() in between, nor twice after a stop() and a new start().
      if (this.started === started) this.runDueTicks();
    });
  }

  private runDueTicks(): void {
    const now = this.time.now();
    let behind = Math.floor((now - this.started!) / this.periodMs) - this.ticks;
    if (behind > MAX_CATCH_UP_TICKS) {
      // The loop stalled for long: drop the missed ticks, keep the grid.
      this.ticks += behind - 1;
      behind = 1;
    }
    for (let i = 0; i < behind; i++) {
      this.ticks++;
      const lateness = now - (this.started! + this.ticks * this.periodMs);
      this.lateness[this.latenessCount++ % this.lateness.length] = lateness;
      this.latenessHistogram.record(lateness);
      this.onTick(this.ticks);
    }
    this.schedule();
  }
}
