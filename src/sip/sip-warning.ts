import type { GatewayError } from '../errors.js';
import { SdpError } from '../media/sdp/sdp-error.js';

/**
 * The Warning header (RFC 3261 §20.43) that tells a caller exactly why: an SDP problem's
 * own warn-code (302/304/305), otherwise 399 (miscellaneous) with the error's message.
 */
export function sipWarning(err: GatewayError, agent: string): string {
  return (err instanceof SdpError ? err.warning(agent) : undefined) ?? warningOf(agent, err.message);
}

/** A 399 (miscellaneous) Warning with the text quoted. */
export function warningOf(agent: string, text: string): string {
  return `399 ${agent} "${text.replace(/["\\]/g, '\\$&')}"`;
}
