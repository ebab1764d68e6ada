/**
 * How late a clock's ticks ran, counted since it was made into fixed buckets, as a
 * Prometheus histogram wants them: the media threads keep one each and the metrics read
 * it, so no tick's lateness has to cross threads on its own.
 */

/** Upper bounds in ms; a 20 ms tick more than a frame late is a gap phones hear. */
export const TICK_LATENESS_BOUNDS_MS: readonly number[] = [0.5, 1, 2, 5, 10, 20, 50, 100];

export interface LatenessCounts {
  /** Ticks at most each bound late (cumulative, one per bound), then all of them. */
  readonly buckets: readonly number[];
  readonly sumMs: number;
  readonly count: number;
}

export class LatenessHistogram {
  /** Per bound, not cumulative; the last slot holds those beyond every bound. */
  private readonly counts = new Float64Array(TICK_LATENESS_BOUNDS_MS.length + 1);
  private sumMs = 0;
  private count = 0;

  record(latenessMs: number): void {
    let slot = 0;
    while (slot < TICK_LATENESS_BOUNDS_MS.length && latenessMs > TICK_LATENESS_BOUNDS_MS[slot]!) slot++;
    this.counts[slot]!++;
    this.sumMs += latenessMs;
    this.count++;
  }

  snapshot(): LatenessCounts {
    let running = 0;
    const buckets = Array.from(this.counts, (count) => (running += count));
    return { buckets, sumMs: this.sumMs, count: this.count };
  }
}

/** Several histograms' counts together. */
export function addLatenessCounts(a: LatenessCounts, b: LatenessCounts): LatenessCounts {
  return { buckets: a.buckets.map((count, i) => count + (b.buckets[i] ?? 0)), sumMs: a.sumMs + b.sumMs, count: a.count + b.count };
}

export const NO_LATENESS: LatenessCounts = { buckets: new Array<number>(TICK_LATENESS_BOUNDS_MS.length + 1).fill(0), sumMs: 0, count: 0 };
