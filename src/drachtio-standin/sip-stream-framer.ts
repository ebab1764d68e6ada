/**
 * Splits a SIP-over-TCP byte stream into messages: header section up to the blank line,
 * then exactly Content-Length body bytes (RFC 3261 18.3). CRLF keep-alives between
 * messages are skipped; a double-CRLF ping is reported so the transport can pong (RFC 5626).
 */

/**
 * A message (header section and body) larger than this is an abusive or broken peer: no
 * SIP message the gateway handles comes near it, and a Content-Length beyond it would
 * otherwise make the connection buffer whatever the peer sends.
 */
export const MAX_MESSAGE_BYTES = 65_536;

export class SipFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SipFramingError';
  }
}

export interface FramedChunk {
  readonly messages: Buffer[];
  /** Number of CRLFCRLF keep-alive pings seen. */
  readonly pings: number;
  /**
   * Index in `messages` of the first one that followed CRLF keep-alives within this read.
   * sofia-sip cannot read such a message and stops answering on the connection (RFC 4475
   * dblreq over TCP); a server that behaves like it stops there.
   */
  readonly afterKeepAlive?: number;
}

function contentLength(headerSection: string): number {
  const match = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im.exec(headerSection);
  return match ? Number(match[1]) : 0;
}

export class SipStreamFramer {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): FramedChunk {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: Buffer[] = [];
    let pings = 0;
    let afterKeepAlive: number | undefined;
    for (;;) {
      let skip = 0;
      while (skip < this.buffered.length && (this.buffered[skip] === 0x0d || this.buffered[skip] === 0x0a)) skip++;
      if (skip > 0) {
        if (this.buffered.subarray(0, skip).toString('latin1').includes('\r\n\r\n')) pings++;
        this.buffered = this.buffered.subarray(skip);
        // Whatever was buffered before this read was a message or part of one, never CRLFs: these came in this read.
        if (this.buffered.length > 0) afterKeepAlive ??= messages.length;
      }
      const crlf = this.buffered.indexOf('\r\n\r\n');
      const lf = this.buffered.indexOf('\n\n');
      const useLf = lf !== -1 && (crlf === -1 || lf < crlf);
      const headerEnd = useLf ? lf : crlf;
      if (headerEnd === -1) {
        if (this.buffered.length > MAX_MESSAGE_BYTES) throw new SipFramingError('SIP header section too long');
        return { messages, pings, afterKeepAlive };
      }
      const bodyStart = headerEnd + (useLf ? 2 : 4);
      const end = bodyStart + contentLength(this.buffered.toString('utf8', 0, headerEnd));
      if (end > MAX_MESSAGE_BYTES) throw new SipFramingError(`SIP message larger than ${MAX_MESSAGE_BYTES} bytes`);
      if (this.buffered.length < end) return { messages, pings, afterKeepAlive };
      messages.push(Buffer.from(this.buffered.subarray(0, end)));
      this.buffered = this.buffered.subarray(end);
    }
  }
}
