/** Unit tests of SIP parsing, header knowledge and sofia-style re-encoding. */
import { describe, expect, it } from 'vitest';
import { canonicalName, headerKey, normalizeHeaderValue, parseNameAddr, parseVia } from '../../src/drachtio-standin/sip-headers.js';
import { buildResponse, headerValue, parseSipMessage, serializeMessage, startLine } from '../../src/drachtio-standin/sip-message.js';
import { event, loadRecording } from '../support/sip/recordings.js';

const CRLF = '\r\n';
const msg = (...lines: string[]) => Buffer.from(lines.join(CRLF));

describe('parsing', () => {
  it.each([
    {
      name: 'request with body bounded by Content-Length',
      data: msg('INFO sip:a@b SIP/2.0', 'Content-Length: 5', '', 'hello, and more'),
      start: 'INFO sip:a@b SIP/2.0',
      body: 'hello',
      truncated: false,
    },
    { name: 'response with custom reason', data: msg('SIP/2.0 404 Meeting Not Found', 'Content-Length: 0', '', ''), start: 'SIP/2.0 404 Meeting Not Found', body: '', truncated: false },
    { name: 'body shorter than Content-Length', data: msg('OPTIONS sip:a SIP/2.0', 'Content-Length: 200', '', '0123456789'), start: 'OPTIONS sip:a SIP/2.0', body: '0123456789', truncated: true },
    { name: 'no blank line', data: msg('OPTIONS sip:a SIP/2.0', 'Via: SIP/2.0/UDP h'), start: 'OPTIONS sip:a SIP/2.0', body: '', truncated: true },
    { name: 'bare LF line ends', data: Buffer.from('BYE sip:a SIP/2.0\nCall-ID: x\n\n'), start: 'BYE sip:a SIP/2.0', body: '', truncated: false },
  ])('$name', ({ data, start, body, truncated }) => {
    const parsed = parseSipMessage(data)!;
    expect(startLine(parsed.message)).toBe(start);
    expect(parsed.message.body.toString()).toBe(body);
    expect(parsed.truncated).toBe(truncated);
  });

  it.each([
    { name: 'binary garbage (recording 11 N7)', data: Buffer.from(loadRecording('11-malformed').events.find((e) => e.id === 'N7')!.base64!, 'base64') },
    { name: 'text that is not SIP (recording 11 N8)', data: Buffer.from(event(loadRecording('11-malformed'), 'N8').text!) },
    { name: 'HTTP', data: msg('GET / HTTP/1.1', 'Host: x', '', '') },
    { name: 'a method with + in it, which sofia-sip cannot read (RFC 4475 intmeth)', data: msg('A+B sip:a SIP/2.0', 'CSeq: 1 A+B', '', '') },
    { name: 'LWS inside the Request-URI (RFC 4475 lwsruri)', data: msg('INVITE sip:a@b; lr SIP/2.0', 'l: 0', '', '') },
  ])('returns nothing for $name', ({ data }) => {
    expect(parseSipMessage(data)).toBeUndefined();
  });

  it('reads compact forms and folded lines, and keeps each header as received', () => {
    const parsed = parseSipMessage(msg('INVITE sip:a SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK1', 'i: abc', 'Subject: first', '  second', 'l: 0', '', ''))!;
    expect(headerValue(parsed.message, 'Via')).toBe('SIP/2.0/UDP h;branch=z9hG4bK1');
    expect(headerValue(parsed.message, 'call-id')).toBe('abc');
    expect(headerValue(parsed.message, 'subject')).toBe('first second');
    expect(serializeMessage(parsed.message).toString()).toBe(['INVITE sip:a SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK1', 'i: abc', 'Subject: first', '  second', 'l: 0', '', ''].join(CRLF));
  });

  it('reads extra SP in the request line as sofia-sip does, and forwards the line as received (RFC 4475 lwsstart, trws)', () => {
    for (const line of ['INVITE  sip:a@b  SIP/2.0', 'OPTIONS sip:a@b SIP/2.0  ']) {
      const parsed = parseSipMessage(msg(line, 'l: 0', '', ''))!;
      expect(parsed.message).toMatchObject({ kind: 'request', uri: 'sip:a@b', version: 'SIP/2.0' });
      expect(serializeMessage(parsed.message).toString().split(CRLF)[0]).toBe(line);
    }
  });

  it('flags a header line without a name', () => {
    expect(parseSipMessage(msg('OPTIONS sip:a SIP/2.0', 'this is no header', '', ''))!.garbled).toBe(true);
  });

  it('round-trips every recorded network message verbatim', () => {
    for (const name of ['03-invite-auth-answer-bye-by-caller', '08-dtmf', '12-tcp-invite']) {
      for (const e of loadRecording(name).events.filter((x) => x.kind === 'sip')) {
        expect(serializeMessage(parseSipMessage(Buffer.from(e.text!))!.message).toString(), `${name} ${e.id}`).toBe(e.text);
      }
    }
  });
});

describe('header knowledge', () => {
  it.each([
    ['v', 'via', 'Via'],
    ['cseq', 'cseq', 'CSeq'],
    ['www-authenticate', 'www-authenticate', 'WWW-Authenticate'],
    ['CALL-ID', 'call-id', 'Call-ID'],
    ['i', 'call-id', 'Call-ID'],
    ['X-Meeting-Id', 'x-meeting-id', 'X-Meeting-Id'],
    ['min-se', 'min-se', 'Min-SE'],
  ])('%s → key %s, name %s', (name, key, canonical) => {
    expect(headerKey(name)).toBe(key);
    expect(canonicalName(name)).toBe(canonical);
  });

  it.each([
    { name: 'From', value: 'sip:sipsak@127.0.0.1:21002;tag=17961692', out: '<sip:sipsak@127.0.0.1:21002>;tag=17961692' },
    { name: 'From', value: 'garbage;tag=x', out: '<garbage>;tag=x' },
    { name: 'To', value: '"Alice" <sip:alice@h>;tag=a', out: '"Alice" <sip:alice@h>;tag=a' },
    { name: 'To', value: 'Bob <sip:bob@h> ; tag = b', out: 'Bob <sip:bob@h>;tag=b' },
    { name: 'Reason', value: 'SIP ;cause=200 ;text="Meeting ended"', out: 'SIP;cause=200;text="Meeting ended"' },
    { name: 'Reason', value: 'SIP ;cause=200 ;text="ACK timeout"', out: 'SIP;cause=200;text="ACK timeout"' },
    { name: 'Allow', value: 'INVITE,ACK ,BYE', out: 'INVITE, ACK, BYE' },
    { name: 'Content-Type', value: 'application/sdp ; charset = utf-8', out: 'application/sdp;charset=utf-8' },
    { name: 'WWW-Authenticate', value: 'Digest realm="127.0.0.1",algorithm=MD5,  qop="auth"', out: 'Digest realm="127.0.0.1", algorithm=MD5, qop="auth"' },
    { name: 'CSeq', value: '1   INVITE', out: '1 INVITE' },
    { name: 'Via', value: 'SIP / 2.0 / udp 1.2.3.4:5060 ; branch = z9hG4bKx ; rport', out: 'SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bKx;rport' },
    { name: 'Warning', value: '399 meetgw "line not of the form <type>=<value>"', out: '399 meetgw "line not of the form <type>=<value>"' },
    { name: 'X-Custom', value: '  a ;b  ', out: 'a ;b' },
  ])('re-encodes $name: $value', ({ name, value, out }) => {
    expect(normalizeHeaderValue(name, value)).toBe(out);
  });

  it.each(['<sip:a', 'sip:a>', '"unterminated <sip:a>', ''])('rejects name-addr %j', (value) => {
    expect(parseNameAddr(value)).toBeUndefined();
  });

  it.each(['SIP/2.0/UDP', 'SIP/2.0/UDP host:99999', 'HTTP/1.1 host', 'SIP/2.0/UDP host port'])('rejects Via %j', (value) => {
    expect(parseVia(value)).toBeUndefined();
  });
});

describe('sofia-style encoding of built messages', () => {
  it('rebuilds the 200 OK of recording 02 from the app frame: canonical names, sofia order, Content-Length from the body', () => {
    const recording = loadRecording('02-options');
    const app = event(recording, 'W2').text!;
    const appMessage = parseSipMessage(Buffer.from(app.slice(app.indexOf(CRLF) + 2)), { bodyToEnd: true })!.message;
    const via = 'SIP/2.0/UDP 127.0.0.1:21002;branch=z9hG4bK.271619ef;rport=21002;alias';
    const headers = [{ name: 'Via', value: via }, ...appMessage.headers.map((h) => (h.name === 'to' ? { name: 'to', value: `${h.value};tag=0emc8S640D80D` } : h))];
    const built = buildResponse(200, 'OK', headers);
    expect(serializeMessage(built).toString()).toBe(event(recording, 'N2').text);
  });

  it('puts unknown headers after Content-Length in the order given', () => {
    const built = buildResponse(200, 'OK', [
      { name: 'X-B', value: '2' },
      { name: 'cseq', value: '1 INVITE' },
      { name: 'X-A', value: '1' },
      { name: 'Call-ID', value: 'c' },
    ]);
    expect(built.headers.map((h) => h.name)).toEqual(['Call-ID', 'CSeq', 'Content-Length', 'X-B', 'X-A']);
  });
});
