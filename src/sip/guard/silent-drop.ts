/**
 * Dropping a request without an answer, through drachtio-server, which has no "drop":
 * - a non-INVITE is answered 408, which the SIP stack completes without sending
 *   (RFC 4320: no 408 to a non-INVITE goes on the wire; sofia-sip and the stand-in
 *   both keep to it), so the transaction is freed and the sender hears nothing;
 * - an INVITE already had drachtio's 100 Trying; its final answer is held back until the
 *   sender's own transaction has given up (Timer B, 64*T1 = 32 s), then a 408 frees the
 *   server's transaction. At most MAX_HELD are held; beyond that they are answered at once.
 */
import type { SipRequest, SipResponse } from '../srf.js';

/** RFC 3261 Timer B with T1 = 500 ms: a caller has stopped waiting for its INVITE by then. */
const INVITE_HOLD_MS = 32_000;
const MAX_HELD = 10_000;

export class SilentDrop {
  private readonly held = new Map<NodeJS.Timeout, SipResponse>();

  constructor(private readonly holdMs = INVITE_HOLD_MS) {}

  drop(request: SipRequest, response: SipResponse): void {
    if (request.method !== 'INVITE' || this.held.size >= MAX_HELD) {
      response.send(408, 'Request Timeout');
      return;
    }
    const timer = setTimeout(() => {
      this.held.delete(timer);
      timeOut(response);
    }, this.holdMs);
    timer.unref();
    this.held.set(timer, response);
  }

  /** INVITEs being held now. */
  get holding(): number {
    return this.held.size;
  }

  /** Answers every held INVITE now (shutdown: the server's transactions must not outlive us). */
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
