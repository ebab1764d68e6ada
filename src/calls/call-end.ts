/**
 * Why a call ended. A call the gateway ends after answering says why with an ITU-T Q.850
 * cause, which a BYE carries in its Reason header (RFC 3326): carriers and phones read it
 * (and bill by it), where a bare BYE only says that the call ended.
 */
import { GatewayError } from '../errors.js';
import type { MemberEndReason } from '../media/room-notices.js';
import { TimeoutError } from '../timeout.js';

export const Q850 = {
  /** The gateway hung up on purpose: the meeting ended, the gateway shuts down. */
  normalClearing: 16,
  /** The call's media is gone (its mediasoup worker died). */
  temporaryFailure: 41,
  /** What the call waited for never came: an ACK, RTP, a session refresh. */
  recoveryOnTimerExpiry: 102,
  /** Anything else that failed between the phone and the meeting. */
  interworking: 127,
} as const;

export type Q850Cause = (typeof Q850)[keyof typeof Q850];

/** The gateway's own end of a call. */
export interface GatewayEnd {
  readonly by: 'gateway';
  readonly reason: string;
  readonly cause: Q850Cause;
  /**
   * The failure, when one ended the call: an unanswered call is refused with its status
   * (500 without one), an answered one is told it in the BYE.
   */
  readonly error?: GatewayError;
  /** The summary line is debug, not info: an end so common in an attack (a refused authentication) that one line each would flood the log. */
  readonly quiet?: boolean;
}

export type CallEnd =
  | { readonly by: 'caller'; readonly reason: 'BYE' | 'CANCEL' }
  /** drachtio-server ended the dialog itself (a 200 OK never ACKed: "ACK timeout"). */
  | { readonly by: 'drachtio'; readonly reason: string }
  /** Handed, before any answer, to the node that hosts the meeting (proxied there, or a 302): that node answers the caller. */
  | { readonly by: 'hand-off'; readonly reason: string }
  | GatewayEnd;

/** The end a failed set-up step gives its call. */
export function failureEnd(err: unknown): GatewayEnd {
  if (err instanceof TimeoutError) return { by: 'gateway', reason: err.message, cause: Q850.recoveryOnTimerExpiry };
  if (err instanceof GatewayError) return { by: 'gateway', reason: err.message, cause: Q850.interworking, error: err };
  // A bug or a failing store: its details stay in our log, not on the wire.
  return { by: 'gateway', reason: 'internal error', cause: Q850.interworking };
}

/** The end a room gives its phone calls when it closes (their media goes with it), or one phone an operator removes. */
export function roomEnd(text: string, reason: MemberEndReason): GatewayEnd {
  switch (reason) {
    case 'meeting-ended':
    case 'idle':
      return { by: 'gateway', reason: text, cause: Q850.normalClearing, error: new GatewayError('gone', text) };
    case 'removed':
      return { by: 'gateway', reason: text, cause: Q850.normalClearing, error: new GatewayError('forbidden', text) };
    case 'draining':
    case 'shutdown':
      return shutdownEnd(text);
    case 'media-lost':
      return { by: 'gateway', reason: text, cause: Q850.temporaryFailure, error: new GatewayError('unavailable', text) };
  }
}

/** An operator hung the call up through the call API: refused with 403 before the answer, a BYE with cause 16 after. */
export function hangUpEnd(): GatewayEnd {
  const reason = 'hung up through the call API';
  return { by: 'gateway', reason, cause: Q850.normalClearing, error: new GatewayError('forbidden', reason) };
}

/** The end of every call when the gateway stops: a caller not yet answered may try again elsewhere (503). */
export function shutdownEnd(reason: string): GatewayEnd {
  return { by: 'gateway', reason, cause: Q850.normalClearing, error: new GatewayError('unavailable', reason) };
}
