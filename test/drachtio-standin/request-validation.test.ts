/** Unit tests of the stack's request checks: malformed-input rules and RFC 3581 Via stamping. */
import { describe, expect, it } from 'vitest';
import { checkRequest, responseTarget, stampTopVia } from '../../src/drachtio-standin/request-validation.js';
import { formatVia, parseVia } from '../../src/drachtio-standin/sip-headers.js';
import { parseSipMessage, serializeMessage, startLine } from '../../src/drachtio-standin/sip-message.js';
import type { Peer } from '../../src/drachtio-standin/sip-transport.js';

const UDP: Peer = { transport: 'udp', address: '127.0.0.1', port: 25110 };
const TCP: Peer = { transport: 'tcp', address: '127.0.0.1', port: 43468 };

const HEADERS = {
  via: 'Via: SIP/2.0/UDP 127.0.0.1:25110;branch=z9hG4bKabc;rport',
  from: 'From: <sip:tester@127.0.0.1:25110>;tag=f1',
  to: 'To: <sip:m123@127.0.0.1:5060>',
  callId: 'Call-ID: c1@127.0.0.1',
  cseq: 'CSeq: 1 OPTIONS',
  length: 'Content-Length: 0',
};

function request(first: string, replace: Partial<Record<keyof typeof HEADERS, string | null>> = {}, body = ''): Buffer {
  const lines = Object.entries({ ...HEADERS, ...replace })
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([, line]) => line);
  return Buffer.from([first, ...lines, '', body].join('\r\n'));
}

describe('malformed requests', () => {
  it.each([
    { name: 'no Call-ID', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { callId: null }), status: '400 Bad Request', absent: 'Call-ID' },
    { name: 'CSeq abc', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { cseq: 'CSeq: abc OPTIONS' }), status: '400 Bad CSeq Header', absent: 'CSeq' },
    { name: 'CSeq method ≠ method', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { cseq: 'CSeq: 1 INVITE' }), status: '400 Bad Request', absent: undefined },
    { name: 'Content-Length beyond the datagram', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Content-Length: 200' }, '0123456789'), status: '400 Bad Request', absent: undefined },
    { name: 'Content-Length not a number', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Content-Length: ten' }), status: '400 Bad Content-Length Header', absent: 'Content-Length: ten' },
    { name: 'two From headers', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { to: `${HEADERS.to}\r\nFrom: <sip:x@y>;tag=2` }), status: '400 Bad From Header', absent: 'From' },
    { name: 'unbalanced To', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { to: 'To: <sip:m123@127.0.0.1:5060' }), status: '400 Bad To Header', absent: 'To' },
    { name: 'header line without a name', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { to: `${HEADERS.to}\r\nnot a header` }), status: '400 Bad Request', absent: undefined },
    { name: 'Request-URI without host', data: request('OPTIONS sip: SIP/2.0'), status: '400 Bad Request', absent: undefined },
    { name: 'a vertical tab in From', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { from: 'From: <sip:tester@127.0.0.1:25110>;tag=f1\v' }), status: '400 Bad From Header', absent: 'From' },
    { name: 'a NUL in Call-ID', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { callId: 'Call-ID: c1\0@127.0.0.1' }), status: '400 Bad Call-ID Header', absent: 'Call-ID' },
    { name: 'a NUL in Subject', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Subject: a\0b\r\nContent-Length: 0' }), status: '400 Bad Request', absent: undefined },
    { name: 'a bare CR in Subject', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Subject: a\rb\r\nContent-Length: 0' }), status: '400 Bad Request', absent: undefined },
    { name: 'sip/2.0 (drachtio-srf cannot parse it)', data: request('OPTIONS sip:m123@127.0.0.1 sip/2.0'), status: '400 Bad Request', absent: undefined },
    { name: 'Sip/2.0', data: request('OPTIONS sip:m123@127.0.0.1 Sip/2.0'), status: '400 Bad Request', absent: undefined },
    { name: 'SIP/3.0', data: request('OPTIONS sip:m123@127.0.0.1 SIP/3.0'), status: '505 Version Not Supported', absent: undefined },
    { name: 'an ACK of SIP/3.0 (drachtio-server answers it, although an ACK has no response)', data: request('ACK sip:m123@127.0.0.1 SIP/3.0', { cseq: 'CSeq: 1 ACK' }), status: '505 Version Not Supported', absent: undefined },
    { name: 'a NUL byte in the body (RFC 4475 mpart01)', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Content-Type: text/plain\r\nContent-Length: 3' }, 'a\0b'), status: '400 Bad Request', absent: undefined },
    { name: 'a Date not in GMT (RFC 4475 baddate)', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Date: Fri, 01 Jan 2010 16:00:00 EST\r\nContent-Length: 0' }), status: '400 Bad Request', absent: undefined },
    { name: 'a Contact URI with ? outside <> (RFC 4475 regbadct)', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Contact: sip:u@h?Route=%3Csip:x%3E\r\nContent-Length: 0' }), status: '400 Bad Contact Header', absent: 'Contact' },
  ])('$name → $status', ({ data, status, absent }) => {
    const verdict = checkRequest(parseSipMessage(data)!, UDP);
    expect(verdict.kind).toBe('reject');
    if (verdict.kind !== 'reject') return;
    expect(startLine(verdict.reply)).toBe(`SIP/2.0 ${status}`);
    const text = serializeMessage(verdict.reply).toString();
    expect(text).toContain('Via: SIP/2.0/UDP 127.0.0.1:25110;branch=z9hG4bKabc;rport=25110\r\n');
    expect(text).toMatch(/\r\nTo: <sip:m123@127\.0\.0\.1:5060>;tag=[A-Za-z0-9]{13}\r\n|Bad To Header/);
    if (absent) expect(text).not.toContain(`${absent}:`);
    expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
  });

  it.each([
    { name: 'no Via', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { via: null }), peer: UDP },
    { name: 'malformed ACK', data: request('ACK sip:m123@127.0.0.1 SIP/2.0', { cseq: 'CSeq: 1 INVITE' }), peer: UDP },
    { name: 'an ACK of sip/2.0', data: request('ACK sip:m123@127.0.0.1 sip/2.0', { cseq: 'CSeq: 1 ACK' }), peer: UDP },
    { name: 'Via says TCP, arrived over UDP', data: request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { via: 'Via: SIP/2.0/TCP 127.0.0.1:25110;branch=z9hG4bKabc' }), peer: UDP },
    { name: 'a method sofia does not know (RFC 4475 esc02)', data: request('RE%47IST%45R sip:m123@127.0.0.1 SIP/2.0', { cseq: 'CSeq: 1 RE%47IST%45R' }), peer: UDP },
  ])('drops $name', ({ data, peer }) => {
    expect(checkRequest(parseSipMessage(data)!, peer).kind).toBe('drop');
  });

  it('answers a Date not in GMT without closing a TCP connection (drachtio-server checks it, not sofia)', () => {
    const data = request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', {
      via: 'Via: SIP/2.0/TCP 127.0.0.1:43468;branch=z9hG4bKabc',
      length: 'Date: Fri, 01 Jan 2010 16:00:00 EST\r\nContent-Length: 0',
    });
    expect(checkRequest(parseSipMessage(data)!, TCP)).toMatchObject({ kind: 'reject', keepsConnection: true });
    const gmt = request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Date: Sat, 13 Nov 2010 23:29:00 GMT\r\nContent-Length: 0' });
    expect(checkRequest(parseSipMessage(gmt)!, UDP).kind).toBe('accept');
  });

  it('answers a request without Content-Length over TCP 400, and takes the rest of the datagram as its body over UDP (RFC 4475 inv2543)', () => {
    const tcp = request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { via: 'Via: SIP/2.0/TCP 127.0.0.1:43468;branch=z9hG4bKabc', length: null });
    expect(checkRequest(parseSipMessage(tcp)!, TCP)).toMatchObject({ kind: 'reject', why: 'Bad Request' });
    expect(checkRequest(parseSipMessage(request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: null }))!, UDP).kind).toBe('accept');
  });

  it('passes a vertical tab or an escape in a header it does not parse on to the app, as drachtio-server does', () => {
    const data = request('OPTIONS sip:m123@127.0.0.1 SIP/2.0', { length: 'Subject: a\vb\r\nUser-Agent: \x1b[2J\r\nContent-Length: 0' });
    expect(checkRequest(parseSipMessage(data)!, UDP).kind).toBe('accept');
  });

  it('accepts Max-Forwards: 0 and a bracket-less From (recording 11 H and I)', () => {
    const data = request('INVITE sip:m123@127.0.0.1 SIP/2.0', { from: 'From: garbage;tag=x', cseq: 'CSeq: 1 INVITE', length: 'Max-Forwards: 0\r\nContent-Length: 0' });
    const verdict = checkRequest(parseSipMessage(data)!, UDP);
    expect(verdict.kind).toBe('accept');
    if (verdict.kind !== 'accept') return;
    expect(serializeMessage(verdict.request).toString()).toContain('\r\nFrom: garbage;tag=x\r\n');
  });
});

describe('Via stamping (RFC 3581) and where responses go', () => {
  it.each([
    { name: 'rport requested', via: 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport;alias', peer: UDP, out: 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport=25110;alias' },
    { name: 'no rport over UDP', via: 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1', peer: UDP, out: 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1' },
    { name: 'no rport over TCP', via: 'SIP/2.0/TCP 127.0.0.1:22120;branch=z9hG4bK1', peer: TCP, out: 'SIP/2.0/TCP 127.0.0.1:22120;branch=z9hG4bK1;rport=43468' },
    { name: 'host differs', via: 'SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1;rport', peer: UDP, out: 'SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1;rport=25110;received=127.0.0.1' },
    { name: 'stale received removed', via: 'SIP/2.0/UDP 127.0.0.1;received=9.9.9.9;branch=z9hG4bK1', peer: UDP, out: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1' },
  ])('$name', ({ via, peer, out }) => {
    expect(formatVia(stampTopVia(parseVia(via)!, peer))).toBe(out);
  });

  it.each([
    { via: 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport=25110', peer: UDP, target: { transport: 'udp', address: '127.0.0.1', port: 25110 } },
    { via: 'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1', peer: UDP, target: { transport: 'udp', address: '127.0.0.1', port: 5062 } },
    { via: 'SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK1;received=127.0.0.1', peer: UDP, target: { transport: 'udp', address: '127.0.0.1', port: 5060 } },
    { via: 'SIP/2.0/TCP 127.0.0.1:22120;branch=z9hG4bK1;rport=43468', peer: TCP, target: TCP },
  ])('responses to $via go to $target.address:$target.port', ({ via, peer, target }) => {
    expect(responseTarget(parseVia(via)!, peer)).toEqual(target);
  });
});
