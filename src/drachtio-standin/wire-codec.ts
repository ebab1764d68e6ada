/**
 * drachtio's admin wire protocol: `<byte length>#<body>` frames back to back on one TCP
 * stream, where body = `field|field|...` optionally followed by CRLF and a SIP message.
 */

export const CRLF = '\r\n';

/** Longest accepted length prefix; anything longer is a broken peer, not a big message. */
const MAX_LENGTH_DIGITS = 9;
const HASH = 0x23;

export class WireFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFrameError';
  }
}

export function encodeFrame(body: string): Buffer {
  const payload = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`${payload.length}#`, 'ascii'), payload]);
}

/** Splits a TCP byte stream into frame bodies; frames may be split across or packed into reads. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Returns the complete frames now available; throws WireFrameError on a malformed length prefix. */
  push(chunk: Buffer): string[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: string[] = [];
    for (;;) {
      const hash = this.buffered.indexOf(HASH);
      const prefixEnd = hash === -1 ? this.buffered.length : hash;
      for (let i = 0; i < Math.min(prefixEnd, MAX_LENGTH_DIGITS + 1); i++) {
        const c = this.buffered[i]!;
        if (c < 0x30 || c > 0x39) throw new WireFrameError('invalid message length specifier');
      }
      if (prefixEnd > MAX_LENGTH_DIGITS) throw new WireFrameError('message length specifier too long');
      if (hash === -1) return frames;
      if (hash === 0) throw new WireFrameError('missing message length specifier');
      const length = Number(this.buffered.toString('ascii', 0, hash));
      if (length === 0) throw new WireFrameError('zero-length message');
      const end = hash + 1 + length;
      if (this.buffered.length < end) return frames;
      frames.push(this.buffered.toString('utf8', hash + 1, end));
      this.buffered = this.buffered.subarray(end);
    }
  }
}

export interface WireMessage {
  /** Field 0: the sender's message id. */
  readonly id: string;
  /** Field 1: authenticate, route, ping, sip, response, cdr:..., ... */
  readonly type: string;
  /** Fields after the type, empty ones kept. */
  readonly args: readonly string[];
  /** The SIP message after the first CRLF, if any. */
  readonly sip: string | undefined;
}

export function parseWireMessage(body: string): WireMessage {
  const crlf = body.indexOf(CRLF);
  const leader = crlf === -1 ? body : body.slice(0, crlf);
  const fields = leader.split('|');
  return {
    id: fields[0] ?? '',
    type: fields[1] ?? '',
    args: fields.slice(2),
    sip: crlf === -1 ? undefined : body.slice(crlf + CRLF.length),
  };
}

/** Joins header-line fields with `|` (empty trailing fields give the trailing pipes drachtio emits). */
export function formatWireMessage(fields: readonly string[], sip?: string): string {
  return sip === undefined ? fields.join('|') : `${fields.join('|')}${CRLF}${sip}`;
}
