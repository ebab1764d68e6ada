/**
 * The one mapping of why a signaling socket ends to its WebSocket close code: every
 * GatewayErrorCode, an unexpected failure ('internal'), and every reason a room ends a member.
 * A Record, so a new error code or close reason does not compile until it is mapped here.
 */
import type { GatewayErrorCode } from '../errors.js';
import type { MemberEndReason } from '../media/room-notices.js';
import { CloseCode } from './protocol.js';

/** What an error reply's code can be: a GatewayError's, or 'internal' for anything else. */
export type SignalingErrorCode = GatewayErrorCode | 'internal';

export type SocketEndCause = SignalingErrorCode | MemberEndReason;

const CLOSE_CODES: Record<SocketEndCause, number> = {
  bad_request: CloseCode.badRequest,
  unauthorized: CloseCode.unauthorized,
  forbidden: CloseCode.forbidden,
  not_found: CloseCode.notFound,
  // Over signaling a conflict ("already joined") or an unusable media offer is a client
  // that does not follow the protocol, not a full meeting (4409).
  conflict: CloseCode.badRequest,
  not_acceptable: CloseCode.badRequest,
  unsupported_media_type: CloseCode.badRequest,
  gone: CloseCode.gone,
  busy: CloseCode.full,
  unavailable: CloseCode.serverError,
  internal: CloseCode.serverError,
  'meeting-ended': CloseCode.gone,
  'media-lost': CloseCode.serverError,
  idle: CloseCode.normal,
  draining: CloseCode.goingAway,
  shutdown: CloseCode.goingAway,
  // An operator removed the participant: no longer allowed in, as far as this socket goes.
  removed: CloseCode.forbidden,
};

export function closeCodeFor(cause: SocketEndCause): number {
  return CLOSE_CODES[cause];
}
