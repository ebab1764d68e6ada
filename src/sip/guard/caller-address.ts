/**
 * Whom the guard judges for a request. Behind a SIP front (SIP_FRONT_SOURCES: a Kamailio
 * proxy) every caller arrives from the front's address; the front, as any RFC 3261 proxy,
 * puts its own Via on top and leaves the caller's second, with `received` added where the
 * caller's sent-by is not the address the front received it from (RFC 3261 §18.2.1). So a
 * request whose immediate source is a front is judged by that second Via's `received`, else
 * its sent-by host. A Via from anyone else is only what the sender claims: such a request is
 * judged by its source address, as without a front. A front behind another front (a node
 * that proxied the call, when nodes are listed too) is looked through the same way, one Via
 * further down each time.
 *
 * A front's request with no second Via, or none that names an IP address, is the front's own
 * (Kamailio's dispatcher OPTIONS probes carry one Via) and is judged as the front. Refusing it
 * would answer the front's probes with an error and take the node out of its rotation; and a
 * caller's Via always yields an address, since the front writes `received` itself whenever
 * the sent-by host is not the IP address it received the request from.
 */
import { isIP } from 'node:net';
import type { SourceTest } from './trusted-sources.js';
import { unmapped } from './trusted-sources.js';

export interface ViaCarrier {
  readonly source_address: string;
  get(name: string): string | undefined;
}

export type CallerAddress = (request: ViaCarrier) => string;

// Via values may be folded into one header with commas; each value starts with SIP/2.0/<transport>.
const VIA_VALUE_START = /,(?=\s*SIP\s*\/)/i;
const SENT_BY = /^\s*SIP\s*\/\s*[\d.]+\s*\/\s*\S+\s+(\[[^\]]+\]|[^\s;:]+)/i;
const RECEIVED = /;\s*received\s*=\s*"?(\[[^\]]+\]|[^\s;,"]+)/i;

export function callerAddress(isFront: SourceTest): CallerAddress {
  return (request) => {
    let caller = unmapped(request.source_address);
    const vias = request.get('Via')?.split(VIA_VALUE_START) ?? [];
    // Each Via below a front's own is what that front saw; going down stops at the first hop that is not a front.
    for (let hop = 1; hop < vias.length && isFront(caller); hop++) {
      const seen = viaAddress(vias[hop]!);
      if (seen === undefined) break;
      caller = seen;
    }
    return caller;
  };
}

/** Where a Via's sender was seen from: its received (the next hop wrote it), else its sent-by when that is an IP address. */
function viaAddress(via: string): string | undefined {
  return ipAddress(RECEIVED.exec(via)?.[1]) ?? ipAddress(SENT_BY.exec(via)?.[1]);
}

function ipAddress(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const bare = unmapped(host.replace(/^\[(.*)\]$/, '$1'));
  return isIP(bare) === 0 ? undefined : bare;
}
