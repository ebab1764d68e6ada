/**
 * Which timers are pending, and where each was started: the global setTimeout and
 * setInterval are wrapped while the census runs, so a test can tell the gateway's
 * timers from those of the in-process drachtio stand-in (drachtio's side of the wire,
 * which keeps its transactions' timers for up to 32 s by RFC 3261) and name the code
 * that left one behind. Unref'd timers count too: they leak as surely as the others.
 */
const started = new Map<unknown, string>();
let restore: (() => void) | undefined;

/** Starts counting timers started from now on; stop() puts the globals back. */
export function startTimerCensus(): { pending(exceptFrom?: RegExp): string[]; stop(): void } {
  if (!restore) {
    const { setTimeout: set, setInterval: every, clearTimeout: clear, clearInterval: clearEvery } = globalThis;
    const site = () => (new Error().stack ?? '').split('\n').slice(3, 8).map((line) => line.trim()).join(' < ');
    const forget = (timer: unknown) => started.delete(timer);
    globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = set((...a: unknown[]) => {
        forget(timer);
        callback(...a);
      }, ms, ...args);
      started.set(timer, site());
      return timer;
    }) as typeof globalThis.setTimeout;
    globalThis.setInterval = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = every(callback, ms, ...args);
      started.set(timer, site());
      return timer;
    }) as typeof globalThis.setInterval;
    globalThis.clearTimeout = ((timer) => {
      forget(timer);
      clear(timer);
    }) as typeof globalThis.clearTimeout;
    globalThis.clearInterval = ((timer) => {
      forget(timer);
      clearEvery(timer);
    }) as typeof globalThis.clearInterval;
    restore = () => Object.assign(globalThis, { setTimeout: set, setInterval: every, clearTimeout: clear, clearInterval: clearEvery });
  }
  const since = new Set(started.keys());
  return {
    /** Where each timer started since the census began and still pending was started, except those from code matching exceptFrom. */
    pending: (exceptFrom) => [...started].filter(([timer, where]) => !since.has(timer) && !exceptFrom?.test(where)).map(([, where]) => where),
    stop() {
      restore?.();
      restore = undefined;
      started.clear();
    },
  };
}
