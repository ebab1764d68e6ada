/**
 * Garbage collections as a timeline on the wall clock, so pauses in two processes (a
 * benchmark and the gateway it drives) can be laid over the benchmark's timed cases.
 * performance.timeOrigin is each process's own start on the wall clock (high resolution),
 * so `timeOrigin + startTime` is comparable across processes on one machine.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';

export interface GcPause {
  /** Start, ms since the epoch. */
  readonly startMs: number;
  readonly ms: number;
  readonly kind: 'minor' | 'major' | 'incremental' | 'weakcb' | 'other';
}

const KINDS = new Map<number, GcPause['kind']>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** Calls `onPause` for every garbage collection of this process from now on; returns a stop function. */
export function observeGc(onPause: (pause: GcPause) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as { detail?: { kind?: number } };
      const kind = KINDS.get(detail?.kind ?? -1) ?? 'other';
      onPause({ startMs: performance.timeOrigin + entry.startTime, ms: entry.duration, kind });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

/** The line a gateway process writes per pause (see report-gc.ts), or undefined for any other line. */
export function parseGcLine(line: string): GcPause | undefined {
  if (!line.startsWith('{"benchGc":')) return undefined;
  return (JSON.parse(line) as { benchGc: GcPause }).benchGc;
}

/** Pauses of one process in the order they happened, and how much of a stretch of time they took. */
export class GcTimeline {
  readonly pauses: GcPause[] = [];
  private longestMs = 0;

  add(pause: GcPause): void {
    this.pauses.push(pause);
    this.longestMs = Math.max(this.longestMs, pause.ms);
  }

  /** Milliseconds of [fromMs, toMs] (epoch) spent in pauses. */
  msWithin(fromMs: number, toMs: number): number {
    // The first pause that can reach fromMs: binary search on the start times.
    let low = 0;
    let high = this.pauses.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.pauses[middle]!.startMs < fromMs - this.longestMs) low = middle + 1;
      else high = middle;
    }
    let total = 0;
    for (let i = low; i < this.pauses.length && this.pauses[i]!.startMs < toMs; i++) {
      const pause = this.pauses[i]!;
      total += Math.max(0, Math.min(toMs, pause.startMs + pause.ms) - Math.max(fromMs, pause.startMs));
    }
    return total;
  }
}
