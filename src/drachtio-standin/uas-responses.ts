/**
 * The responses the server side sends: the stack's own (100 Trying, 481, 487, 503, the 200
 * to a CANCEL) and the app's minimal responses completed the way drachtio-server and sofia
 * complete them (Via and To tag added, Contact on INVITE 2xx, Content-Type for SDP,
 * Record-Route echoed, everything re-encoded in sofia's order).
 */
import { newTag } from './ids.js';
import { formatNameAddr, formatVia, headerKey, parseNameAddr, tagOf, uriHost, withTag, type Via } from './sip-headers.js';
import { addrOf, callIdOf, recordRouteOf } from './sip-fields.js';
import { buildResponse, headerValue, serializeMessage, type SipHeader, type SipRequest, type SipResponse } from './sip-message.js';
import type { Peer, TransportName } from './sip-transport.js';
import type { LocalAddress } from './wire-messages.js';

/** A server transaction as far as answering it goes. */
export interface Answerable {
  readonly request: SipRequest;
  /** The request's Vias, the top one stamped with received/rport. */
  readonly vias: readonly Via[];
  readonly source: Peer;
  /** The request came inside an existing dialog (a re-INVITE, an INFO, ...). */
  readonly inDialog: boolean;
  /** The To tag of this transaction's responses, chosen by the first response that needs one. */
  tag: string | undefined;
}

/** Headers drachtio-server never takes from the app's responses. */
const IMMUTABLE = new Set(['via', 'route', 'rseq', 'record-route', 'content-length']);
/** Methods whose 1xx/2xx responses do not carry the request's Record-Route (sofia's irq_record_route). */
const NO_RECORD_ROUTE = new Set(['ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'PRACK', 'PUBLISH']);
/** drachtio-server drops app headers whose names have other characters. */
const HEADER_NAME = /^[A-Za-z0-9\-_]+$/;

function vias(txn: Answerable): SipHeader[] {
  return txn.vias.map((via) => ({ name: 'Via', value: formatVia(via) }));
}

/** The stack's own response: the request's identifying headers only, with the transaction's To tag above 100. */
export function stackResponse(txn: Answerable, status: number, reason: string): Buffer {
  const to = addrOf(txn.request, 'to')!;
  const tagged = status > 100 && !tagOf(to);
  if (tagged) txn.tag ??= newTag();
  const headers: SipHeader[] = [
    ...vias(txn),
    { name: 'From', value: headerValue(txn.request, 'from')! },
    { name: 'To', value: formatNameAddr(tagged ? withTag(to, txn.tag!) : to) },
    { name: 'Call-ID', value: callIdOf(txn.request)! },
    { name: 'CSeq', value: headerValue(txn.request, 'cseq')! },
  ];
  return serializeMessage(buildResponse(status, reason, headers));
}

/**
 * `<sip:host:port>`, with `;transport=tcp` on TCP, as drachtio-server puts in the Contact it
 * adds; on TLS its TLS contact, `<sips:host:port;transport=tls>`, whatever the request's
 * scheme (README 60).
 */
function contactFor(local: LocalAddress, transport: TransportName): string {
  return `<${transport === 'tls' ? 'sips' : 'sip'}:${uriHost(local.host)}:${local.port}${transport === 'udp' ? '' : `;transport=${transport}`}>`;
}

/** The app's minimal response, completed and re-encoded as sofia would send it. */
export function completeResponse(txn: Answerable, app: SipResponse, local: LocalAddress): SipResponse {
  const appHeaders = app.headers.filter((h) => !IMMUTABLE.has(headerKey(h.name)) && HEADER_NAME.test(h.name));
  const has = (key: string) => appHeaders.some((h) => headerKey(h.name) === key);
  const fromRequest = (key: string): SipHeader[] =>
    has(key) ? [] : txn.request.headers.filter((h) => headerKey(h.name) === key).map((h) => ({ name: h.name, value: h.value }));

  const headers: SipHeader[] = [...vias(txn), ...fromRequest('from'), ...fromRequest('call-id'), ...fromRequest('cseq')];
  const toHeader = appHeaders.find((h) => headerKey(h.name) === 'to') ?? txn.request.headers.find((h) => headerKey(h.name) === 'to')!;
  const to = parseNameAddr(toHeader.value);
  headers.push(...appHeaders.filter((h) => headerKey(h.name) !== 'to').map((h) => ({ name: h.name, value: h.value })));
  if (to && app.status > 100) {
    // sofia adopts a tag the app chose; otherwise the transaction's (new) one.
    txn.tag ??= tagOf(to) ?? newTag();
    headers.push({ name: 'To', value: formatNameAddr(tagOf(to) ? to : withTag(to, txn.tag)) });
  } else {
    headers.push({ name: 'To', value: toHeader.value });
  }

  const method = txn.request.method;
  if (app.status < 300 && !NO_RECORD_ROUTE.has(method)) {
    headers.push(...recordRouteOf(txn.request).map((value) => ({ name: 'Record-Route', value })));
  }
  // drachtio-server adds its Contact to 2xx for new INVITEs, and to every response to an in-dialog INVITE.
  const contactStatus = txn.inDialog ? app.status > 100 : app.status >= 200 && app.status < 300;
  if ((method === 'INVITE' || method === 'SUBSCRIBE') && contactStatus && !has('contact')) {
    headers.push({ name: 'Contact', value: contactFor(local, txn.source.transport) });
  }
  if (app.body.length > 0 && !has('content-type') && app.body.toString('latin1', 0, 3) === 'v=0') {
    headers.push({ name: 'Content-Type', value: 'application/sdp' });
  }
  return buildResponse(app.status, app.reason, headers, app.body);
}
