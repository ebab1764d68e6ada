/**
 * The tests' one SIP message reader (and the response every test peer builds from a
 * request): start line, headers and body of a message as text. Just enough for test peers
 * and benchmarks, and independent of the drachtio stand-in's parser, so the stand-in's
 * tests do not check it with itself.
 */

interface SipMessageCommon {
  readonly text: string;
  readonly firstLine: string;
  /** Values by lower-case full header name (compact forms expanded), in order of appearance. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
}

export interface SipRequest extends SipMessageCommon {
  readonly method: string;
  readonly uri: string;
  readonly status?: undefined;
}

export interface SipResponse extends SipMessageCommon {
  readonly status: number;
  readonly method?: undefined;
}

export type SipMessage = SipRequest | SipResponse;

/** RFC 3261 §7.3.3. */
const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
};

/** undefined for anything that starts with neither a request line nor a status line (a keep-alive). */
export function parseSipMessage(text: string): SipMessage | undefined {
  const { firstLine, headers, body } = readParts(text);
  const status = /^SIP\/2\.0 (\d{3}) /.exec(firstLine);
  if (status) return { text, firstLine, headers, body, status: Number(status[1]) };
  const request = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(firstLine);
  if (request) return { text, firstLine, headers, body, method: request[1]!, uri: request[2]! };
  return undefined;
}

/** Every value of the header `name` (full name, any case), in order; a text need not start with a valid start line. */
export function headerValues(message: SipMessage | string, name: string): readonly string[] {
  const { headers } = typeof message === 'string' ? readParts(message) : message;
  return headers.get(name.toLowerCase()) ?? [];
}

/** The first value of the header `name` (full name, any case). */
export function header(message: SipMessage | string, name: string): string | undefined {
  return headerValues(message, name)[0];
}

function readParts(text: string): Pick<SipMessageCommon, 'firstLine' | 'headers' | 'body'> {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const [firstLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const written = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT_FORMS[written] ?? written;
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { firstLine, headers, body: split === -1 ? '' : text.slice(split + 4) };
}

/** First line of a SIP message. */
export function firstLine(text: string): string {
  return text.slice(0, text.indexOf('\r\n'));
}

export interface ResponseOptions {
  /** Added to a To without a tag (not on a 100): the tag of the dialog we answer in. */
  readonly toTag?: string;
  readonly extraHeaders?: readonly string[];
  readonly sdp?: string;
}

/** A response within the request's transaction: Via, From, To, Call-ID and CSeq copied. */
export function responseTo(request: SipRequest, status: number, reason: string, { toTag, extraHeaders = [], sdp }: ResponseOptions = {}): string {
  const to = header(request, 'To') ?? '';
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...headerValues(request, 'Via').map((via) => `Via: ${via}`),
    `From: ${header(request, 'From') ?? ''}`,
    `To: ${toTag === undefined || /;tag=/i.test(to) || status === 100 ? to : `${to};tag=${toTag}`}`,
    `Call-ID: ${header(request, 'Call-ID') ?? ''}`,
    `CSeq: ${header(request, 'CSeq') ?? ''}`,
    ...extraHeaders,
  ];
  if (sdp) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(sdp ?? '')}`, '', sdp ?? '');
  return lines.join('\r\n');
}
