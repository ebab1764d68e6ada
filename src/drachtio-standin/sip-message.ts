/**
 * SIP messages as the stand-in sees them: parsed leniently (so that sofia-like validation
 * can decide what to reject), forwarded verbatim, or built and serialised the way sofia
 * would encode them.
 */
import { canonicalName, headerKey, headerRank, normalizeHeaderValue } from './sip-headers.js';

export const CRLF = '\r\n';

export interface SipHeader {
  /** Name as written. */
  readonly name: string;
  /** Value with folding joined by single spaces, trimmed. */
  readonly value: string;
  /** The header exactly as received (folded lines kept); absent on headers the stand-in built or changed. */
  readonly raw?: string;
}

interface SipMessageCommon {
  readonly headers: readonly SipHeader[];
  readonly body: Buffer;
}

export interface SipRequest extends SipMessageCommon {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  /** The request line as received, when it differs from `method uri version` (extra SP): forwarded so. */
  readonly requestLine?: string;
}

export interface SipResponse extends SipMessageCommon {
  readonly kind: 'response';
  readonly version: string;
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export interface ParsedSip {
  readonly message: SipMessage;
  /** Content-Length promised more body than arrived, or the header section never ended. */
  readonly truncated: boolean;
  /** A header line with no name/colon: unparseable as a header. */
  readonly garbled: boolean;
}

/**
 * sofia-sip reads a request line with several SP between its elements, or SP after it
 * (RFC 4475 lwsstart, trws), and cannot read a method with a `+` in it (intmeth): that
 * message is dropped unanswered.
 */
const REQUEST_LINE = /^([A-Za-z0-9.!%*_`'~-]+) +(\S+) +([Ss][Ii][Pp]\/\d+\.\d+) *$/;
const STATUS_LINE = /^([Ss][Ii][Pp]\/\d+\.\d+) (\d{3})(?: (.*))?$/;
const HEADER_NAME = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/** Strips linear white space (SP and HTAB, RFC 3261 §25.1) only: other characters a value ends with are the header's. */
const trimWhiteSpace = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, '');

function findHeaderEnd(data: Buffer): { headerEnd: number; bodyStart: number } | undefined {
  const crlf = data.indexOf('\r\n\r\n');
  const lf = data.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return undefined;
  if (lf !== -1 && (crlf === -1 || lf < crlf)) return { headerEnd: lf, bodyStart: lf + 2 };
  return { headerEnd: crlf, bodyStart: crlf + 4 };
}

/**
 * Parses one SIP message. Returns undefined for anything without a SIP start line
 * (binary garbage, other protocols), which the stack drops silently.
 * With `bodyToEnd` the body is everything after the blank line (how drachtio reads the
 * app's messages); otherwise Content-Length decides.
 */
export function parseSipMessage(data: Buffer, options: { bodyToEnd?: boolean } = {}): ParsedSip | undefined {
  const bounds = findHeaderEnd(data);
  const headerText = data.toString('utf8', 0, bounds ? bounds.headerEnd : data.length);
  const lines = headerText.split(/\r?\n/);
  const start = lines.shift() ?? '';
  const request = REQUEST_LINE.exec(start);
  const status = request ? null : STATUS_LINE.exec(start);
  if (!request && !status) return undefined;

  const headers: Array<{ name: string; value: string; raw: string }> = [];
  let garbled = false;
  for (const line of lines) {
    if (line.length === 0) continue;
    const previous = headers[headers.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && previous) {
      previous.value = trimWhiteSpace(`${previous.value} ${trimWhiteSpace(line)}`);
      previous.raw = `${previous.raw}${CRLF}${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(name)) {
      garbled = true;
      continue;
    }
    headers.push({ name, value: trimWhiteSpace(line.slice(colon + 1)), raw: line });
  }

  let body = bounds ? data.subarray(bounds.bodyStart) : Buffer.alloc(0);
  let truncated = !bounds;
  if (!options.bodyToEnd) {
    const declared = headers.find((h) => headerKey(h.name) === 'content-length')?.value;
    if (declared !== undefined && /^\d+$/.test(declared)) {
      const length = Number(declared);
      if (length > body.length) truncated = true;
      else body = body.subarray(0, length);
    }
  }

  const requestLine = request && start !== `${request[1]} ${request[2]} ${request[3]}` ? { requestLine: start } : {};
  const message: SipMessage = request
    ? { kind: 'request', method: request[1]!, uri: request[2]!, version: request[3]!, ...requestLine, headers, body }
    : { kind: 'response', version: status![1]!, status: Number(status![2]), reason: status![3] ?? '', headers, body };
  return { message, truncated, garbled };
}

export function startLine(message: SipMessage): string {
  return message.kind === 'request'
    ? (message.requestLine ?? `${message.method} ${message.uri} ${message.version}`)
    : `${message.version} ${message.status} ${message.reason}`;
}

/** First value of a header (compact forms match their long names). */
export function headerValue(message: SipMessage, name: string): string | undefined {
  const key = headerKey(name);
  return message.headers.find((h) => headerKey(h.name) === key)?.value;
}

export function headerValues(message: SipMessage, name: string): string[] {
  const key = headerKey(name);
  return message.headers.filter((h) => headerKey(h.name) === key).map((h) => h.value);
}

/** The message as text: received headers verbatim, built ones as `Name: value`. */
export function serializeMessage(message: SipMessage): Buffer {
  const lines = [startLine(message), ...message.headers.map((h) => h.raw ?? `${h.name}: ${h.value}`)];
  return Buffer.concat([Buffer.from(`${lines.join(CRLF)}${CRLF}${CRLF}`, 'utf8'), message.body]);
}

/**
 * Headers as sofia encodes a message it builds: canonical names, normalised values,
 * known headers in sofia's order, unknown ones after them in the order given, and a
 * Content-Length that matches the body.
 */
function sofiaHeaders(headers: readonly SipHeader[], body: Buffer): SipHeader[] {
  const encoded = headers
    .filter((h) => headerKey(h.name) !== 'content-length')
    .map((h) => ({ name: canonicalName(h.name), value: normalizeHeaderValue(h.name, h.value) }));
  encoded.push({ name: 'Content-Length', value: String(body.length) });
  return encoded
    .map((h, index) => ({ h, index }))
    .sort((a, b) => headerRank(a.h.name) - headerRank(b.h.name) || a.index - b.index)
    .map(({ h }) => h);
}

export function buildRequest(method: string, uri: string, headers: readonly SipHeader[], body: Buffer = Buffer.alloc(0)): SipRequest {
  return { kind: 'request', method, uri, version: 'SIP/2.0', headers: sofiaHeaders(headers, body), body };
}

export function buildResponse(status: number, reason: string, headers: readonly SipHeader[], body: Buffer = Buffer.alloc(0)): SipResponse {
  return { kind: 'response', version: 'SIP/2.0', status, reason, headers: sofiaHeaders(headers, body), body };
}
