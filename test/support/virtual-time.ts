import type { TimeSource } from '../../src/media/mixer/tick-clock.js';

/** A virtual clock: timers fire when advance() passes them, each `lateMs()` late. */
export class VirtualTime implements TimeSource {
  private current = 0;
  private timers: Array<{ at: number; callback: () => void }> = [];

  constructor(private readonly lateMs: () => number = () => 0) {}

  now = () => this.current;
  setTimeout = (callback: () => void, ms: number) => {
    const timer = { at: this.current + ms + this.lateMs(), callback };
    this.timers.push(timer);
    return timer;
  };
  clearTimeout = (handle: unknown) => {
    this.timers = this.timers.filter((t) => t !== handle);
  };

  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = this.timers.sort((a, b) => a.at - b.at)[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.current = next.at;
      next.callback();
    }
    this.current = end;
  }
}
