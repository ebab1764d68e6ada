/** Unit tests of SIP-over-TCP framing by Content-Length. */
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, SipFramingError, SipStreamFramer } from '../../src/drachtio-standin/sip-stream-framer.js';

const OPTIONS = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n';
const INFO = 'INFO sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello';
const INFO_LONG = 'INFO sip:a@b SIP/2.0\r\nContent-Length:  12\r\n\r\nhello\r\nworld';

describe('SIP stream framing', () => {
  it.each([
    { name: 'one message', reads: [OPTIONS], messages: [OPTIONS], pings: 0 },
    { name: 'two messages in one read', reads: [OPTIONS + INFO], messages: [OPTIONS, INFO], pings: 0 },
    { name: 'body split across reads', reads: [INFO.slice(0, INFO.length - 2), INFO.slice(-2)], messages: [INFO], pings: 0 },
    { name: 'headers split across reads', reads: [OPTIONS.slice(0, 10), OPTIONS.slice(10)], messages: [OPTIONS], pings: 0 },
    { name: 'compact l: header', reads: [INFO], messages: [INFO], pings: 0 },
    { name: 'CRLFs inside the body are body', reads: [INFO_LONG + OPTIONS], messages: [INFO_LONG, OPTIONS], pings: 0 },
    { name: 'CRLF keep-alives between messages skipped', reads: ['\r\n', OPTIONS, '\r\n\r\n', INFO], messages: [OPTIONS, INFO], pings: 1 },
    { name: 'missing Content-Length means no body', reads: ['BYE sip:a SIP/2.0\r\n\r\n'], messages: ['BYE sip:a SIP/2.0\r\n\r\n'], pings: 0 },
  ])('$name', ({ reads, messages, pings }) => {
    const framer = new SipStreamFramer();
    let seenPings = 0;
    const out: string[] = [];
    for (const read of reads) {
      const chunk = framer.push(Buffer.from(read));
      seenPings += chunk.pings;
      out.push(...chunk.messages.map((m) => m.toString()));
    }
    expect(out).toEqual(messages);
    expect(seenPings).toBe(pings);
  });

  it('marks a message that follows CRLF keep-alives in the same read, as sofia-sip cannot read it (RFC 4475 dblreq over TCP)', () => {
    const framer = new SipStreamFramer();
    const chunk = framer.push(Buffer.from(`${OPTIONS}\r\n\r\n${INFO}`));
    expect(chunk.messages.map((m) => m.toString())).toEqual([OPTIONS, INFO]);
    expect(chunk.afterKeepAlive).toBe(1);
    expect(new SipStreamFramer().push(Buffer.from(OPTIONS + INFO)).afterKeepAlive).toBeUndefined();
  });

  it('gives up on a header section that never ends', () => {
    const framer = new SipStreamFramer();
    expect(() => framer.push(Buffer.alloc(70_000, 'a'))).toThrow(SipFramingError);
  });

  it('gives up on a message whose Content-Length goes beyond 64 KiB, before its body arrives', () => {
    const framer = new SipStreamFramer();
    const header = `INFO sip:a@b SIP/2.0\r\nContent-Length: ${MAX_MESSAGE_BYTES}\r\n\r\n`;
    expect(() => framer.push(Buffer.from(header))).toThrow(/larger than 65536 bytes/);
    expect(() => new SipStreamFramer().push(Buffer.from('INFO sip:a@b SIP/2.0\r\nl: 99999999999999999999\r\n\r\n'))).toThrow(SipFramingError);
  });

  it('takes a message of exactly 64 KiB', () => {
    const head = 'INFO sip:a@b SIP/2.0\r\nContent-Length: 00000\r\n\r\n';
    const bodyLength = MAX_MESSAGE_BYTES - head.length;
    const message = head.replace('00000', String(bodyLength)) + 'x'.repeat(bodyLength);
    expect(Buffer.byteLength(message)).toBe(MAX_MESSAGE_BYTES);
    expect(new SipStreamFramer().push(Buffer.from(message)).messages).toHaveLength(1);
  });
});
