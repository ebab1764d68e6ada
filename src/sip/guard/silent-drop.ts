/**
 * Dropping a request without an answer, through drachtio-server, which has no "drop": a
 * request the app never answers stays in the server (and in drachtio-srf) for good, and
 * any answer the app sends goes on the wire (drachtio-server v0.9.10 sends even a 408 to
 * a non-INVITE). So the answer is held back until the sender's own transaction has given
 * up (Timer B for an INVITE, Timer F otherwise: 64*T1 = 32 s), then a 408 frees the
 * server's transaction; the sender heard nothing while it was listening (drachtio's own
 * 100 Trying to an INVITE aside). At most MAX_HELD are held; beyond that a dropped
 * request is answered 408 at once, so a flood cannot grow the server's or our memory.
 */
import type { SipResponse } from '../srf.js';

/** RFC 3261 Timers B and F with T1 = 500 ms: the sender has stopped waiting by then. */
const HOLD_MS = 32_000;
const MAX_HELD = 10_000;

export class SilentDrop {
  private readonly held = new Map<NodeJS.Timeout, SipResponse>();

  constructor(private readonly holdMs = HOLD_MS) {}

  drop(response: SipResponse): void {
    if (this.held.size >= MAX_HELD) {
      timeOut(response);
      return;
    }
    const timer = setTimeout(() => {
      this.held.delete(timer);
      timeOut(response);
    }, this.holdMs);
    timer.unref();
    this.held.set(timer, response);
  }

  /** Dropped requests whose answer is being held back now. */
  get holding(): number {
    return this.held.size;
  }

  /** Answers every held request now (shutdown: the server's transactions must not outlive us). */
  close(): void {
    for (const [timer, response] of this.held) {
      clearTimeout(timer);
      timeOut(response);
    }
    this.held.clear();
  }
}

function timeOut(response: SipResponse): void {
  if (response.finalResponseSent) return;
  try {
    response.send(408, 'Request Timeout');
  } catch {
    // The connection to drachtio-server went, and the server's transaction with it.
  }
}
