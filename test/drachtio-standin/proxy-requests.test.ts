/**
 * drachtio's `proxy` command (drachtio-srf's srf.proxyRequest), checked the same way against
 * the stand-in and a real drachtio-server (DRACHTIO_SERVER_BIN): what the destination
 * receives, what the caller receives, and what the app is told.
 */
import Srf from 'drachtio-srf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { firstLine, header, headerValues, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';

interface ProxyResults {
  readonly finalStatus?: number;
  readonly connected: boolean;
}
interface SrfProxy {
  createUAS(req: unknown, res: unknown, options: { localSdp: string }): Promise<{ destroy(): Promise<unknown> }>;
  connect(options: object): void;
  disconnect(): void;
  on(event: 'connect', listener: (err: Error | null) => void): void;
  invite(handler: (req: unknown, res: unknown) => void): void;
  proxyRequest(req: unknown, destination: string, options: object): Promise<ProxyResults>;
}

let target: DrachtioTarget;
let srf: SrfProxy;
let caller: SipPeer;
let callee: SipPeer;
let proxied: Promise<ProxyResults>;
/** Answers the INVITE itself (as the owner of a handed-off call does) instead of proxying it. */
let answerInstead = false;
let answered: Promise<{ destroy(): Promise<unknown> }>;

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n';

beforeEach(async () => {
  target = await drachtioTarget();
  answerInstead = false;
  srf = new (Srf as unknown as new () => SrfProxy)();
  srf.invite((req, res) => {
    if (answerInstead) answered = srf.createUAS(req, res, { localSdp: SDP });
    else proxied = srf.proxyRequest(req, `sip:127.0.0.1:${callee.port}`, { recordRoute: false, headers: { 'X-Handed-Over': 'yes' } });
  });
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err) => (err ? reject(err) : resolve()));
    srf.connect({ host: target.adminAddress.host, port: target.adminAddress.port, secret: target.secret, reconnect: { maxAttempts: 1 } });
  });
  caller = await SipPeer.udp(target.sipAddress);
  callee = await SipPeer.udp(target.sipAddress);
});

afterEach(async () => {
  await caller?.close();
  await callee?.close();
  srf?.disconnect();
  await target?.close();
});

const requestUri = () => `sip:m1@${target.sipAddress.host}:${target.sipAddress.port}`;
const request = (m: ReceivedSip) => parseSipMessage(m.text) as SipRequest;

function sendInvite(): string {
  const text = [
    `INVITE ${requestUri()} SIP/2.0`,
    `Via: SIP/2.0/UDP ${caller.hostport};rport;branch=z9hG4bKcaller1`,
    'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=alice1`,
    `To: <${requestUri()}>`,
    'Call-ID: proxy-test-1',
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@${caller.hostport}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  caller.send(text);
  return text;
}

describe('an INVITE the app proxies', () => {
  it('reaches the destination (the Request-URI naming the proxy itself replaced by it), with our Via on top, Max-Forwards one less and the app\'s header; the 180 and 200 reach the caller without our Via', async () => {
    sendInvite();
    const invite = await callee.next(isRequest('INVITE'));
    expect(firstLine(invite.text)).toBe(`INVITE sip:127.0.0.1:${callee.port} SIP/2.0`);
    const vias = headerValues(invite.text, 'Via').flatMap((value) => value.split(',')).map((v) => v.trim());
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(/^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;.*branch=z9hG4bK/);
    expect(vias[1]).toContain('branch=z9hG4bKcaller1');
    expect(header(invite.text, 'Max-Forwards')).toBe('69');
    expect(header(invite.text, 'X-Handed-Over')).toBe('yes');
    expect(header(invite.text, 'Record-Route')).toBeUndefined();

    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'bob1' }));
    const ringing = await caller.next(isResponse(180));
    expect(headerValues(ringing.text, 'Via')).toHaveLength(1);
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'bob1', extraHeaders: [`Contact: <sip:bob@127.0.0.1:${callee.port}>`] }));
    const ok = await caller.next(isResponse(200));
    expect(headerValues(ok.text, 'Via')).toHaveLength(1);
    expect(header(ok.text, 'Contact')).toBe(`<sip:bob@127.0.0.1:${callee.port}>`);
    const results = await proxied;
    expect(results.finalStatus).toBe(200);
    expect(results.connected).toBe(true);
  });

  it('gives the caller the destination\'s failure (ACKed by the proxy, and the caller\'s ACK absorbed), and the app the final status', async () => {
    sendInvite();
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 486, 'Busy Here', { toTag: 'bob2' }));
    const ack = await callee.next(isRequest('ACK'));
    expect(header(ack.text, 'To')).toContain('tag=bob2');
    const busy = await caller.next(isFinalResponse, 5000);
    expect(firstLine(busy.text)).toBe('SIP/2.0 486 Busy Here');
    const results = await proxied;
    expect(results.finalStatus).toBe(486);
    expect(results.connected).toBe(false);
  });
});

describe('a dialog whose INVITE came through a proxy', () => {
  it('gets the app\'s BYE at the proxy\'s address, not at the caller\'s Contact', async () => {
    answerInstead = true;
    const uri = requestUri();
    // `callee` plays the proxy in front of the server; `caller` the phone behind it.
    callee.send(
      [
        `INVITE ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${callee.hostport};rport;branch=z9hG4bKproxy1`,
        `Via: SIP/2.0/UDP ${caller.hostport};rport=${caller.port};branch=z9hG4bKcaller1`,
        'Max-Forwards: 69',
        'From: <sip:alice@127.0.0.1>;tag=alice2',
        `To: <${uri}>`,
        'Call-ID: proxy-test-2',
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@${caller.hostport}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const ok = await callee.next(isResponse(200));
    caller.send(
      [
        `ACK ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${caller.hostport};rport;branch=z9hG4bKack2`,
        'Max-Forwards: 70',
        'From: <sip:alice@127.0.0.1>;tag=alice2',
        `To: ${header(ok.text, 'To')}`,
        'Call-ID: proxy-test-2',
        'CSeq: 1 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const dialog = await answered;
    void dialog.destroy().catch(() => undefined);
    const bye = await callee.next(isRequest('BYE'), 3000);
    expect(firstLine(bye.text)).toBe(`BYE sip:alice@${caller.hostport} SIP/2.0`);
    expect(await caller.collect(300, isRequest('BYE'))).toEqual([]);
  });
});
