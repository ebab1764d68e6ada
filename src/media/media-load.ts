/**
 * How loaded this node's media plane is, from 0 (idle) to 1 (saturated), for call
 * admission. Today the signal is the mixer clock: how late its 20 ms ticks run is what
 * phones hear as gaps, so a median lateness of a whole frame counts as full load. The
 * median, not the p99: one event-loop stall (a GC, a burst of set-ups) makes a handful of
 * late ticks, enough for the p99 of the clock's 10 s window, and must not shed calls for
 * 10 s; the median rises only when most ticks run late. When the mixers move into worker
 * threads, their own load replaces this behind the same type.
 */
import { FRAME_MS, type MixerClock } from './mixer/mixer-clock.js';

export type MediaLoad = () => number;

/** Re-read at most this often: an INVITE flood must not sort the clock's samples per INVITE. */
const REFRESH_MS = 250;

export function mixerClockLoad(clock: MixerClock, now: () => number = Date.now): MediaLoad {
  let load = 0;
  let readAt = -Infinity;
  return () => {
    if (now() - readAt >= REFRESH_MS) {
      const stats = clock.stats();
      // No mixer ticks: the lateness left from the last one says nothing about now.
      load = stats.mixers === 0 ? 0 : Math.min(1, stats.latenessP50Ms / FRAME_MS);
      readAt = now();
    }
    return load;
  };
}
