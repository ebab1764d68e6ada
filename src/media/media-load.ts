/**
 * How loaded this node's media plane is, from 0 (idle) to 1 (saturated), for call
 * admission. The signal is the mixers' clocks: how late their 20 ms ticks run is what
 * phones hear as gaps, so a median lateness of a whole frame counts as full load. The
 * median, not the p99: one stall (a GC, a burst of set-ups) makes a handful of late
 * ticks, enough for the p99 of a clock's 10 s window, and must not shed calls for 10 s;
 * the median rises only when most ticks run late.
 */
import { FRAME_MS, type MixerClockStats } from './mixer/mixer-clock.js';

export type MediaLoad = () => number;

/** Where tick timing comes from: the media plane (its threads answer asynchronously) or one clock. */
export interface TickTiming {
  stats(): MixerClockStats | Promise<MixerClockStats>;
}

/** Re-read at most this often: an INVITE flood must not ask the media threads per INVITE. */
const REFRESH_MS = 250;

/**
 * The last load read; a read older than REFRESH_MS starts a new one, whose answer the
 * next caller gets (admission never waits on a media thread).
 */
export function mediaLoad(timing: TickTiming, now: () => number = Date.now): MediaLoad {
  let load = 0;
  let readAt = -Infinity;
  let reading = false;
  return () => {
    if (!reading && now() - readAt >= REFRESH_MS) {
      reading = true;
      readAt = now();
      new Promise<MixerClockStats>((resolve) => resolve(timing.stats()))
        .then(
          // No mixer ticks: the lateness left from the last one says nothing about now.
          (stats) => (load = stats.mixers === 0 ? 0 : Math.min(1, stats.latenessP50Ms / FRAME_MS)),
          () => undefined,
        )
        .finally(() => (reading = false));
    }
    return load;
  };
}
