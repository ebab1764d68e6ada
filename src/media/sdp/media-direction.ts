/**
 * Stream directions (RFC 3264 §6.1, §8.4). Hold is a=sendonly or a=inactive from the
 * holder, or the older RFC 2543 way: c=0.0.0.0, which means "do not send to me".
 */
import type { MediaDirection } from './sdp-reader.js';

/** The direction that answers `direction`: what they send we receive, and the reverse. */
export function reverseDirection(direction: MediaDirection): MediaDirection {
  switch (direction) {
    case 'sendonly':
      return 'recvonly';
    case 'recvonly':
      return 'sendonly';
    case 'sendrecv':
    case 'inactive':
      return direction;
  }
}

/**
 * What the remote side really does: with an unspecified connection address it cannot
 * receive, whatever a= line it sent (RFC 3264 §8.4).
 */
export function effectiveDirection(declared: MediaDirection, connectionIp: string): MediaDirection {
  if (connectionIp !== '0.0.0.0' && connectionIp !== '::') return declared;
  return declared === 'sendrecv' || declared === 'sendonly' ? 'sendonly' : 'inactive';
}
