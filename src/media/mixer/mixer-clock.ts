/**
 * The one 20 ms clock every meeting mixer of this process ticks on: one timer rather
 * than one per meeting, so ticks stay on the same grid and the event loop wakes once.
 */
import type { LatenessCounts } from './lateness-histogram.js';
import { REAL_TIME, TickClock, type TimeSource } from './tick-clock.js';

export interface Tickable {
  tick(): void;
}

export const FRAME_MS = 20;

export interface MixerClockStats {
  readonly mixers: number;
  /** Ticks of the last 10 s, and how late they ran. */
  readonly ticks: number;
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessMaxMs: number;
}

export class MixerClock {
  private readonly mixers = new Set<Tickable>();
  private readonly clock: TickClock;

  constructor(time: TimeSource = REAL_TIME) {
    this.clock = new TickClock(() => {
      for (const mixer of this.mixers) mixer.tick();
    }, FRAME_MS, time, 10_000 / FRAME_MS);
  }

  join(mixer: Tickable): void {
    this.mixers.add(mixer);
    this.clock.start();
  }

  leave(mixer: Tickable): void {
    this.mixers.delete(mixer);
    if (this.mixers.size === 0) this.clock.stop();
  }

  /** How many mixers tick, and how late the last 10 s of ticks ran. */
  stats(): MixerClockStats {
    return clockStats(this.mixers.size, this.recentLateness());
  }

  /** How late each tick of the last 10 s ran (ms), oldest first. */
  recentLateness(): number[] {
    return this.clock.recentLateness();
  }

  /** How late every tick since the clock was made ran, in buckets. */
  latenessCounts(): LatenessCounts {
    return this.clock.latenessHistogram.snapshot();
  }
}

/** The stats of `mixers` mixers whose clocks' recent ticks ran this late. */
export function clockStats(mixers: number, lateness: readonly number[]): MixerClockStats {
  const sorted = [...lateness].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { mixers, ticks: sorted.length, latenessP50Ms: at(0.5), latenessP99Ms: at(0.99), latenessMaxMs: sorted.at(-1) ?? 0 };
}
