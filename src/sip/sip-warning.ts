import type { GatewayError } from '../errors.js';
import { SdpError } from '../media/sdp/sdp-error.js';

/**
 * The Warning header (RFC 3261 §20.43) that tells a caller exactly why: an SDP problem's
 * own warn-code (302/304/305), otherwise 399 (miscellaneous) with the error's message.
 */
export function sipWarning(err: GatewayError, agent: string): string {
  return (err instanceof SdpError ? err.warning(agent) : undefined) ?? `399 ${agent} "${err.message.replace(/["\\]/g, '\\$&')}"`;
}
