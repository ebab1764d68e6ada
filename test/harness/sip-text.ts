/**
 * Just enough SIP text handling for the harness's test peer: parse baresip's requests,
 * build responses, and split a TCP stream into messages by Content-Length.
 */

export interface SipRequest {
  readonly method: string;
  readonly uri: string;
  /** Header values by lower-case name, in order of appearance. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
}

export function parseRequest(text: string): SipRequest | undefined {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const [startLine = '', ...lines] = head.split('\r\n');
  const request = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(startLine);
  if (!request) return undefined; // a response or a keep-alive
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { method: request[1]!, uri: request[2]!, headers, body: split === -1 ? '' : text.slice(split + 4) };
}

export function header(request: SipRequest, name: string): string | undefined {
  return request.headers.get(name.toLowerCase())?.[0];
}

export interface ResponseOptions {
  readonly toTag: string;
  readonly extraHeaders?: readonly string[];
  readonly sdp?: string;
}

/** A response within the request's transaction: Via, From, Call-ID and CSeq copied, our To tag added. */
export function buildResponse(request: SipRequest, status: number, reason: string, { toTag, extraHeaders = [], sdp }: ResponseOptions): string {
  const to = header(request, 'To') ?? '';
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...(request.headers.get('via') ?? []).map((via) => `Via: ${via}`),
    `From: ${header(request, 'From') ?? ''}`,
    `To: ${/;tag=/i.test(to) || status === 100 ? to : `${to};tag=${toTag}`}`,
    `Call-ID: ${header(request, 'Call-ID') ?? ''}`,
    `CSeq: ${header(request, 'CSeq') ?? ''}`,
    ...extraHeaders,
  ];
  if (sdp) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(sdp ?? '')}`, '', sdp ?? '');
  return lines.join('\r\n');
}

/** Splits a SIP-over-TCP stream: header section, then Content-Length bytes of body. */
export class SipStreamSplitter {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const messages: string[] = [];
    for (;;) {
      while (this.buffered[0] === 0x0d || this.buffered[0] === 0x0a) this.buffered = this.buffered.subarray(1); // keep-alives
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end === -1) break;
      const length = Number(/^content-length:\s*(\d+)/im.exec(this.buffered.toString('utf8', 0, end))?.[1] ?? 0);
      const total = end + 4 + length;
      if (this.buffered.length < total) break;
      messages.push(this.buffered.toString('utf8', 0, total));
      this.buffered = this.buffered.subarray(total);
    }
    return messages;
  }
}
