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
/** Proxies with Record-Route, staying in the dialog's signalling path. */
let recordRoute = false;
let answered: Promise<{ destroy(): Promise<unknown> }>;

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n';

beforeEach(async () => {
  target = await drachtioTarget();
  answerInstead = false;
  recordRoute = false;
  srf = new (Srf as unknown as new () => SrfProxy)();
  srf.invite((req, res) => {
    if (answerInstead) answered = srf.createUAS(req, res, { localSdp: SDP });
    else proxied = srf.proxyRequest(req, `sip:127.0.0.1:${callee.port}`, { recordRoute, headers: { 'X-Handed-Over': 'yes' } });
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

function sendInvite(extraHeaders: readonly string[] = []): string {
  const text = [
    `INVITE ${requestUri()} SIP/2.0`,
    `Via: SIP/2.0/UDP ${caller.hostport};rport;branch=z9hG4bKcaller1`,
    'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=alice1`,
    `To: <${requestUri()}>`,
    'Call-ID: proxy-test-1',
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@${caller.hostport}>`,
    ...extraHeaders,
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

/** A request in the dialog of proxy-test-1, sent by one end to the proxy with its Route. */
function inDialog(from: SipPeer, options: { method: string; uri: string; route: string; fromTag: string; toTag: string; seq: number; cseqMethod?: string }): void {
  const alice = from === caller;
  const [fromUser, toUser] = alice ? ['alice', 'bob'] : ['bob', 'alice'];
  from.send(
    [
      `${options.method} ${options.uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${from.hostport};rport;branch=z9hG4bK${options.method.toLowerCase()}${options.seq}${fromUser}`,
      'Max-Forwards: 70',
      `Route: ${options.route}`,
      `From: <sip:${fromUser}@127.0.0.1>;tag=${options.fromTag}`,
      `To: <sip:${toUser}@127.0.0.1>;tag=${options.toTag}`,
      'Call-ID: proxy-test-1',
      `CSeq: ${options.seq} ${options.cseqMethod ?? options.method}`,
      `Contact: <sip:${fromUser}@${from.hostport}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** As relayed by the proxy: its Route gone, its Via on top of the sender's, Max-Forwards as sent (stateless, as sofia relays). */
function expectRelayed(text: string): void {
  expect(header(text, 'Route')).toBeUndefined();
  const vias = headerValues(text, 'Via').flatMap((value) => value.split(',')).map((v) => v.trim());
  expect(vias).toHaveLength(2);
  expect(vias[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP ${target.sipAddress.host.replace(/\./g, '\\.')}:${target.sipAddress.port};.*branch=z9hG4bK`));
  expect(header(text, 'Max-Forwards')).toBe('70');
}

describe('an INVITE the app proxies with Record-Route', () => {
  it('carries the proxy\'s Record-Route, and the dialog\'s requests both ways (ACK, re-INVITE, UPDATE, BYE) and their responses go through the proxy by that Route', async () => {
    recordRoute = true;
    sendInvite();
    const invite = await callee.next(isRequest('INVITE'));
    const recordRoutes = headerValues(invite.text, 'Record-Route');
    expect(recordRoutes).toHaveLength(1);
    const route = recordRoutes[0]!;
    expect(route).toMatch(/^<sip:127\.0\.0\.1(:\d+)?;.*lr.*>$/);
    const calleeUri = `sip:bob@127.0.0.1:${callee.port}`;
    const callerUri = `sip:alice@${caller.hostport}`;
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'bob3', extraHeaders: [`Record-Route: ${route}`, `Contact: <${calleeUri}>`] }));
    const ok = await caller.next(isResponse(200));
    expect(headerValues(ok.text, 'Record-Route')).toEqual([route]);
    expect((await proxied).finalStatus).toBe(200);

    // The caller's ACK, then the callee's (the owner's) re-INVITE and UPDATE, then the caller's BYE.
    inDialog(caller, { method: 'ACK', uri: calleeUri, route, fromTag: 'alice1', toTag: 'bob3', seq: 1 });
    const ack = await callee.next(isRequest('ACK'));
    expect(firstLine(ack.text)).toBe(`ACK ${calleeUri} SIP/2.0`);
    expectRelayed(ack.text);

    for (const [seq, method] of [[1, 'INVITE'], [2, 'UPDATE']] as const) {
      inDialog(callee, { method, uri: callerUri, route, fromTag: 'bob3', toTag: 'alice1', seq });
      const received = await caller.next(isRequest(method));
      expect(firstLine(received.text)).toBe(`${method} ${callerUri} SIP/2.0`);
      expectRelayed(received.text);
      caller.send(responseTo(request(received), 200, 'OK', { extraHeaders: [`Contact: <${callerUri}>`] }));
      const answer = await callee.next(isResponse(200, method));
      expect(headerValues(answer.text, 'Via').flatMap((v) => v.split(','))).toHaveLength(1);
      if (method === 'INVITE') {
        inDialog(callee, { method: 'ACK', uri: callerUri, route, fromTag: 'bob3', toTag: 'alice1', seq });
        await caller.next(isRequest('ACK'));
      }
    }

    inDialog(caller, { method: 'BYE', uri: calleeUri, route, fromTag: 'alice1', toTag: 'bob3', seq: 2 });
    const bye = await callee.next(isRequest('BYE'));
    expect(firstLine(bye.text)).toBe(`BYE ${calleeUri} SIP/2.0`);
    expectRelayed(bye.text);
    callee.send(responseTo(request(bye), 200, 'OK'));
    const byeOk = await caller.next(isResponse(200, 'BYE'));
    expect(headerValues(byeOk.text, 'Via').flatMap((v) => v.split(','))).toHaveLength(1);
  });

  it('behind a record-routing front puts its Record-Route above the front\'s, and relays the callee\'s BYE to the front with the front\'s Route left', async () => {
    recordRoute = true;
    // `caller` plays a SIP front (Kamailio) that record-routed the INVITE, and the phone behind it.
    const front = `<sip:127.0.0.1:${caller.port};lr>`;
    sendInvite([`Record-Route: ${front}`]);
    const invite = await callee.next(isRequest('INVITE'));
    const recordRoutes = headerValues(invite.text, 'Record-Route').flatMap((value) => value.split(',')).map((v) => v.trim());
    expect(recordRoutes).toHaveLength(2);
    expect(recordRoutes[1]).toBe(front);
    const ours = recordRoutes[0]!;
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'bob4', extraHeaders: [`Record-Route: ${ours}, ${front}`, `Contact: <sip:bob@127.0.0.1:${callee.port}>`] }));
    await caller.next(isResponse(200));
    expect((await proxied).finalStatus).toBe(200);

    const callerUri = `sip:alice@${caller.hostport}`;
    inDialog(callee, { method: 'BYE', uri: callerUri, route: `${ours}, ${front}`, fromTag: 'bob4', toTag: 'alice1', seq: 1 });
    const bye = await caller.next(isRequest('BYE'));
    expect(firstLine(bye.text)).toBe(`BYE ${callerUri} SIP/2.0`);
    expect(headerValues(bye.text, 'Route')).toEqual([front]);
    caller.send(responseTo(request(bye), 200, 'OK'));
    await callee.next(isResponse(200, 'BYE'));
  });
});
