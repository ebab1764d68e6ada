/**
 * A clock for the drachtio stand-in's SIP timers that only moves when the test says so,
 * so 32-second retransmission schedules replay exactly and instantly. Network I/O stays real.
 */
import type { Scheduler, TimerHandle } from '../../../src/drachtio-standin/timers.js';

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export class ManualScheduler implements Scheduler {
  private current = 0;
  private seq = 0;
  private readonly entries = new Map<TimerHandle, Entry>();

  get now(): number {
    return this.current;
  }

  get pending(): number {
    return this.entries.size;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = {};
    this.entries.set(handle, { at: this.current + Math.max(0, ms), seq: this.seq++, fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.entries.delete(handle);
  }

  /** Runs, in time order, every timer due up to `target` (including ones scheduled meanwhile). */
  advanceTo(target: number): void {
    for (;;) {
      let next: [TimerHandle, Entry] | undefined;
      for (const item of this.entries) {
        if (item[1].at <= target && (!next || item[1].at < next[1].at || (item[1].at === next[1].at && item[1].seq < next[1].seq))) next = item;
      }
      if (!next) break;
      this.entries.delete(next[0]);
      this.current = next[1].at;
      next[1].fn();
    }
    this.current = Math.max(this.current, target);
  }

  advanceBy(ms: number): void {
    this.advanceTo(this.current + ms);
  }
}
