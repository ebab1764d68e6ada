/**
 * What sofia-sip's transaction layer does with a request before any application sees it:
 * reject malformed ones with a stateless 400 (or drop them when no reply is possible),
 * and stamp the top Via with received=/rport= (RFC 3581) from the packet's source.
 */
import { newTag } from './ids.js';
import {
  formatNameAddr,
  formatVia,
  headerKey,
  parseNameAddr,
  parseViaList,
  splitOutside,
  tagOf,
  viaParam,
  withTag,
  withViaParam,
  withoutViaParam,
  type Via,
} from './sip-headers.js';
import { addrOf, cseqOf, parseCSeq, viasOf } from './sip-fields.js';
import { buildResponse, type ParsedSip, type SipHeader, type SipRequest, type SipResponse } from './sip-message.js';
import { isStream, type Peer } from './sip-transport.js';

export type Verdict =
  | { readonly kind: 'accept'; readonly request: SipRequest; readonly vias: readonly Via[] }
  | { readonly kind: 'drop'; readonly why: string; readonly malformed: boolean }
  | { readonly kind: 'reject'; readonly reply: SipResponse; readonly why: string; readonly keepsConnection?: boolean };

const SINGLETONS = new Set(['from', 'to', 'call-id', 'cseq', 'content-length', 'max-forwards']);
/** The headers whose syntax is checked (headerIsValid). */
const PARSED_HEADERS = new Set([...SINGLETONS, 'via', 'contact']);

/** Control characters (tab is white space); drachtio-server refuses them in the headers it parses. */
const CONTROL_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A NUL or a bare CR in any header: drachtio-server answers the request `400 Bad Request`. */
const BROKEN_BYTES = /[\0\r]/;

/** Header syntax sofia checks on parsing; a failure makes the header "bad". */
function headerIsValid(key: string, value: string): boolean {
  if (PARSED_HEADERS.has(key) && CONTROL_CHARACTER.test(value)) return false;
  switch (key) {
    case 'cseq':
      return parseCSeq(value) !== undefined;
    case 'content-length':
    case 'max-forwards':
      return /^\d+$/.test(value);
    case 'call-id':
      return /^\S+$/.test(value);
    case 'via':
      return parseViaList(value) !== undefined;
    case 'from':
    case 'to':
      return parseNameAddr(value) !== undefined;
    case 'contact':
      return value === '*' || splitOutside(value, ',').every((part) => contactIsValid(part));
    default:
      return true;
  }
}

/** A URI with headers (`?`) must be inside `<>` (RFC 3261 20.10; sofia: Bad Contact Header, RFC 4475 regbadct). */
function contactIsValid(value: string): boolean {
  return parseNameAddr(value) !== undefined && (value.includes('<') || !value.includes('?'));
}

/** The methods sofia-sip knows; drachtio-server passes no other to its apps and answers none (RFC 4475 esc02). */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'PRACK', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH']);

/** RFC 3261 sip-date (RFC 1123 in GMT); sofia marks any other Date as an error, which drachtio-server answers 400. */
const SIP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s+\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{4}\s+\d{2}:\d{2}:\d{2}\s+GMT$/i;

function requestUriIsValid(uri: string): boolean {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return false;
  if (scheme === 'sip' || scheme === 'sips') return /^sips?:(?:[^@]*@)?[^;?@:]+/i.test(uri);
  if (scheme === 'tel') return uri.length > 4;
  return true;
}

/** Where responses to a request go (RFC 3261 18.2.2 with RFC 3581): back over the same TCP or TLS connection, or to received/rport. */
export function responseTarget(stampedTopVia: Via, source: Peer): Peer {
  if (isStream(source.transport)) return source;
  const address = (viaParam(stampedTopVia, 'received') ?? stampedTopVia.host).replace(/^\[|\]$/g, '');
  const rport = viaParam(stampedTopVia, 'rport');
  return { transport: 'udp', address, port: rport ? Number(rport) : (stampedTopVia.port ?? 5060) };
}

/** Stamps received= and rport= on the top Via as sofia's agent_check_request_via does. */
export function stampTopVia(via: Via, source: Peer): Via {
  let stamped = withoutViaParam(via, 'received');
  const viaHost = via.host.replace(/^\[|\]$/g, '').toLowerCase();
  if (viaHost !== source.address.toLowerCase()) stamped = withViaParam(stamped, 'received', source.address);
  if (viaParam(via, 'rport') !== undefined || isStream(source.transport)) {
    stamped = withViaParam(stamped, 'rport', String(source.port));
  }
  return stamped;
}

function withStampedVia(request: SipRequest, stamped: Via, original: Via): SipRequest {
  if (formatVia(stamped) === formatVia(original)) return request;
  const index = request.headers.findIndex((h) => headerKey(h.name) === 'via');
  const line = request.headers[index]!;
  const rest = splitOutside(line.value, ',').slice(1).map((part) => part.trim());
  const headers = [...request.headers];
  headers[index] = { name: 'Via', value: [formatVia(stamped), ...rest].join(', ') };
  return { ...request, headers };
}

/** The stack's own reply to a request it rejects: only the identifying headers it could parse. */
function statelessReply(request: SipRequest, vias: readonly Via[], status: number, reason: string, bad: ReadonlySet<string>): SipResponse {
  const headers: SipHeader[] = vias.map((via) => ({ name: 'Via', value: formatVia(via) }));
  const copy = (key: string) => {
    if (bad.has(key)) return;
    const header = request.headers.find((h) => headerKey(h.name) === key);
    if (header) headers.push({ name: header.name, value: header.value });
  };
  copy('from');
  const to = bad.has('to') ? undefined : addrOf(request, 'to');
  if (to) headers.push({ name: 'To', value: formatNameAddr(tagOf(to) ? to : withTag(to, newTag())) });
  copy('call-id');
  copy('cseq');
  return buildResponse(status, reason, headers);
}

export function checkRequest(parsed: ParsedSip, source: Peer): Verdict {
  const request = parsed.message;
  if (request.kind !== 'request') return { kind: 'drop', why: 'not a request', malformed: false };

  const bad = new Set<string>();
  let badName: string | undefined;
  const seen = new Set<string>();
  for (const header of request.headers) {
    const key = headerKey(header.name);
    const duplicate = SINGLETONS.has(key) && seen.has(key);
    seen.add(key);
    if (duplicate || !headerIsValid(key, header.value)) {
      bad.add(key);
      badName ??= header.name;
    }
  }

  const vias = bad.has('via') ? undefined : viasOf(request);
  const cseq = cseqOf(request);
  const insane =
    parsed.truncated ||
    parsed.garbled ||
    request.headers.some((header) => BROKEN_BYTES.test(header.value)) ||
    !vias?.length ||
    !seen.has('from') ||
    !seen.has('to') ||
    !seen.has('call-id') ||
    !seen.has('cseq') ||
    !requestUriIsValid(request.uri) ||
    (cseq !== undefined && cseq.method !== request.method) ||
    // sofia reads a body with a NUL byte as a truncated message (RFC 4475 mpart01).
    request.body.includes(0) ||
    // A stream cannot frame a message without Content-Length (RFC 3261 18.3; RFC 4475 inv2543).
    (isStream(source.transport) && !seen.has('content-length'));

  if (bad.size > 0 || insane) {
    if (!vias?.length || request.method === 'ACK') return { kind: 'drop', why: 'malformed request that cannot be answered', malformed: true };
    const stamped = [stampTopVia(vias[0]!, source), ...vias.slice(1)];
    const reason = badName === undefined ? 'Bad Request' : `Bad ${badName} Header`;
    return { kind: 'reject', reply: statelessReply(request, stamped, 400, reason, bad), why: reason };
  }

  const topVia = vias[0]!;
  if (topVia.transport !== source.transport.toUpperCase()) {
    return { kind: 'drop', why: `Via transport ${topVia.transport} on ${source.transport}`, malformed: false };
  }
  const stamped = stampTopVia(topVia, source);
  const stampedVias = [stamped, ...vias.slice(1)];
  if (request.version !== 'SIP/2.0' && request.version.toUpperCase() === 'SIP/2.0') {
    // RFC 3261 §7.1 reads the version without case, but drachtio-srf cannot parse a request
    // whose version is not upper case: passed on, it would never be answered.
    if (request.method === 'ACK') return { kind: 'drop', why: 'ACK with a SIP version not in upper case', malformed: true };
    return { kind: 'reject', reply: statelessReply(request, stampedVias, 400, 'Bad Request', bad), why: 'SIP version not in upper case' };
  }
  if (request.version.toUpperCase() !== 'SIP/2.0') {
    // An ACK too, although an ACK has no response (RFC 3261 §17.1.1.3): drachtio-server answers it 505.
    return { kind: 'reject', reply: statelessReply(request, stampedVias, 505, 'Version Not Supported', bad), why: 'bad SIP version' };
  }
  // drachtio-server's own check, after sofia's: the stream stays usable.
  const date = request.headers.find((h) => headerKey(h.name) === 'date');
  if (date && !SIP_DATE.test(date.value)) {
    return { kind: 'reject', reply: statelessReply(request, stampedVias, 400, 'Bad Request', bad), why: 'bad Date header', keepsConnection: true };
  }
  if (!KNOWN_METHODS.has(request.method)) return { kind: 'drop', why: `unknown method ${request.method}`, malformed: false };
  return { kind: 'accept', request: withStampedVia(request, stamped, topVia), vias: stampedVias };
}
