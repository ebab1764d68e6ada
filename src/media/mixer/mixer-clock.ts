/**
 * The one 20 ms clock every meeting mixer of this process ticks on: one timer rather
 * than one per meeting, so ticks stay on the same grid and the event loop wakes once.
 */
import { REAL_TIME, TickClock, type TimeSource } from './tick-clock.js';

export interface Tickable {
  tick(): void;
}

export const FRAME_MS = 20;

export class MixerClock {
  private readonly mixers = new Set<Tickable>();
  private readonly clock: TickClock;

  constructor(time: TimeSource = REAL_TIME) {
    this.clock = new TickClock(() => {
      for (const mixer of this.mixers) mixer.tick();
    }, FRAME_MS, time);
  }

  join(mixer: Tickable): void {
    this.mixers.add(mixer);
    this.clock.start();
  }

  leave(mixer: Tickable): void {
    this.mixers.delete(mixer);
    if (this.mixers.size === 0) this.clock.stop();
  }

  /** How late each tick ran (ms) since the last call, for the benchmarks. */
  drainLateness(): number[] {
    return this.clock.drainLateness();
  }
}
