/**
 * Requests a drachtio-srf app sends outside a dialog (createUAC, request): checked the same
 * way against the stand-in and a real drachtio-server (DRACHTIO_SERVER_BIN). What goes on the
 * wire to the callee, what the app is told, and who ACKs what. The README ("Requests the app
 * sends outside a dialog") records what was compared.
 */
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SipStreamFramer } from '../../src/drachtio-standin/sip-stream-framer.js';
import Srf from 'drachtio-srf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { firstLine, header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isRequest } from '../support/sip/sip-peer.js';
import { type WireFrame, WireRecorder } from '../support/sip/wire-recorder.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';

interface UacDialog {
  destroy(): Promise<void>;
  on(event: 'destroy', listener: (req: unknown) => void): void;
}
interface UacRequest {
  cancel(): void;
  on(event: 'response', listener: (res: { status: number }) => void): void;
}
interface SrfUac {
  connect(options: object): void;
  disconnect(): void;
  on(event: 'connect', listener: (err: Error | null) => void): void;
  createUAC(uri: string, options: object, callbacks?: { cbRequest?: (err: Error | null, req: UacRequest) => void; cbProvisional?: (res: { status: number }) => void }): Promise<UacDialog>;
  request(uri: string, options: object, callback: (err: Error | null, req: UacRequest) => void): void;
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

let target: DrachtioTarget;
let recorder: WireRecorder;
let srf: SrfUac;
let callee: SipPeer;

beforeEach(async () => {
  target = await drachtioTarget();
  recorder = await WireRecorder.start(target.adminAddress);
  srf = new (Srf as unknown as new () => SrfUac)();
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err) => (err ? reject(err) : resolve()));
    srf.connect({ host: recorder.address.host, port: recorder.address.port, secret: target.secret, reconnect: { maxAttempts: 1 } });
  });
  callee = await SipPeer.udp(target.sipAddress);
});

afterEach(async () => {
  await callee?.close();
  srf?.disconnect();
  await recorder?.close();
  await target?.close();
});

const calleeUri = () => `sip:bob@127.0.0.1:${callee.port}`;
const request = (m: ReceivedSip) => parseSipMessage(m.text) as SipRequest;
const contact = () => `Contact: <sip:bob@127.0.0.1:${callee.port}>`;
const fromServer = (type: string, match: (f: WireFrame) => boolean = () => true) => (f: WireFrame) => f.direction === 'from-server' && f.message.type === type && match(f);
const sipToApp = (status: number) => fromServer('sip', (f) => f.body.includes(`\r\nSIP/2.0 ${status} `));
const branchOf = (text: string) => /branch=([^;\s]+)/.exec(header(text, 'Via') ?? '')?.[1];
const tagOf = (value: string | undefined) => /;tag=([^;\s]+)/.exec(value ?? '')?.[1];

describe('an INVITE from the app', () => {
  it('is sent with a Via, a tagged From, a Contact and its SDP; the 180 and 200 reach the app with the dialog id <Call-ID>;from-tag=<From tag>; the app ACKs the 200 and BYEs to the callee\'s Contact', async () => {
    const provisional: number[] = [];
    const answered = srf.createUAC(calleeUri(), { localSdp: SDP, headers: { From: 'sip:gw@example.com' } }, { cbProvisional: (res) => provisional.push(res.status) });
    const invite = await callee.next(isRequest('INVITE'));
    expect(firstLine(invite.text)).toBe(`INVITE ${calleeUri()} SIP/2.0`);
    expect(header(invite.text, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${target.sipAddress.port};rport;branch=z9hG4bK`));
    expect(header(invite.text, 'From')).toMatch(/^<sip:gw@example\.com>;tag=\w+$/);
    expect(header(invite.text, 'To')).toBe(`<${calleeUri()}>`);
    expect(header(invite.text, 'Contact')).toBe(`<sip:127.0.0.1:${target.sipAddress.port}>`);
    expect(header(invite.text, 'Content-Type')).toBe('application/sdp');
    expect(invite.text.endsWith(SDP)).toBe(true);

    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'callee1' }));
    await sleep(100);
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'callee1', sdp: SDP, extraHeaders: [contact()] }));
    const dialog = await answered;
    expect(provisional).toEqual([180]);
    const ack = await callee.next(isRequest('ACK'));
    expect(header(ack.text, 'To')).toBe(`<${calleeUri()}>;tag=callee1`);
    expect(header(ack.text, 'CSeq')).toBe(`${header(invite.text, 'CSeq')!.split(' ')[0]} ACK`);
    expect(branchOf(ack.text)).not.toBe(branchOf(invite.text));

    const dialogId = `${header(invite.text, 'Call-ID')};from-tag=${tagOf(header(invite.text, 'From'))}`;
    for (const status of [180, 200]) expect((await recorder.waitFor(sipToApp(status))).message.args[7]).toBe(dialogId);

    void dialog.destroy();
    const bye = await callee.next(isRequest('BYE'));
    expect(firstLine(bye.text)).toBe(`BYE ${calleeUri()} SIP/2.0`);
    expect(Number(header(bye.text, 'CSeq')!.split(' ')[0])).toBe(Number(header(invite.text, 'CSeq')!.split(' ')[0]) + 1);
    callee.send(responseTo(request(bye), 200, 'OK'));
  });

  it('a BYE from the callee reaches the app in the dialog the 200 made', async () => {
    const answered = srf.createUAC(calleeUri(), { localSdp: SDP });
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'callee2', sdp: SDP, extraHeaders: [contact()] }));
    const dialog = await answered;
    await callee.next(isRequest('ACK'));
    const ended = new Promise<void>((resolve) => dialog.on('destroy', () => resolve()));
    const from = header(invite.text, 'From')!;
    const bye = [
      `BYE sip:127.0.0.1:${target.sipAddress.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${callee.port};branch=z9hG4bKcalleebye1`,
      'Max-Forwards: 70',
      `From: <${calleeUri()}>;tag=callee2`,
      `To: ${from}`,
      `Call-ID: ${header(invite.text, 'Call-ID')}`,
      'CSeq: 1 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    callee.send(bye);
    expect(firstLine((await callee.next((m) => m.text.startsWith('SIP/2.0 200') && (header(m.text, 'CSeq') ?? '').endsWith('BYE'))).text)).toBe('SIP/2.0 200 OK');
    await ended;
  });

  it('a 486 is ACKed by the server on the INVITE\'s branch and fails createUAC with 486; the app\'s own ACK for it is refused', async () => {
    const answered = srf.createUAC(calleeUri(), { localSdp: SDP }).then(
      () => 0,
      (err: { status: number }) => err.status,
    );
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 486, 'Busy Here', { toTag: 'callee3' }));
    const ack = await callee.next(isRequest('ACK'));
    expect(branchOf(ack.text)).toBe(branchOf(invite.text));
    expect(header(ack.text, 'To')).toBe(`<${calleeUri()}>;tag=callee3`);
    expect(await answered).toBe(486);
    const refused = await recorder.waitFor(fromServer('response', (f) => f.message.args[1] === 'NOK'));
    expect(refused.message.args[2]).toBe('Server error: ACK for non-success final response is automatically generated by server');
  });

  it('is re-sent over UDP after T1 until a response comes', async () => {
    void srf.createUAC(calleeUri(), { localSdp: SDP }).catch(() => undefined);
    const first = await callee.next(isRequest('INVITE'));
    const again = await callee.next(isRequest('INVITE'), 2000);
    expect(again.text).toBe(first.text);
    expect(again.at - first.at).toBeGreaterThan(400);
    callee.send(responseTo(request(first), 480, 'Temporarily Unavailable', { toTag: 'callee4' }));
    await callee.next(isRequest('ACK'));
  });

  it('a CANCEL after the 180 goes out on the INVITE\'s branch; the 487 reaches the app, the 200 to the CANCEL does not', async () => {
    let sentReq: (req: UacRequest) => void = () => undefined;
    const sent = new Promise<UacRequest>((resolve) => (sentReq = resolve));
    const answered = srf.createUAC(calleeUri(), { localSdp: SDP }, { cbRequest: (_err, req) => sentReq(req) }).then(
      () => 0,
      (err: { status: number }) => err.status,
    );
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'callee5' }));
    await recorder.waitFor(sipToApp(180));
    (await sent).cancel();
    const cancel = await callee.next(isRequest('CANCEL'));
    expect(branchOf(cancel.text)).toBe(branchOf(invite.text));
    expect(header(cancel.text, 'CSeq')).toBe(`${header(invite.text, 'CSeq')!.split(' ')[0]} CANCEL`);
    expect(header(cancel.text, 'To')).toBe(header(invite.text, 'To'));
    callee.send(responseTo(request(cancel), 200, 'OK'));
    callee.send(responseTo(request(invite), 487, 'Request Terminated', { toTag: 'callee5' }));
    await callee.next(isRequest('ACK'));
    expect(await answered).toBe(487);
    await sleep(100);
    expect(recorder.frames.filter(sipToApp(200))).toEqual([]);
  });

  it('a CANCEL asked for before any provisional response is held until one comes', async () => {
    let sentReq: (req: UacRequest) => void = () => undefined;
    const sent = new Promise<UacRequest>((resolve) => (sentReq = resolve));
    const answered = srf.createUAC(calleeUri(), { localSdp: SDP }, { cbRequest: (_err, req) => sentReq(req) }).catch(() => undefined);
    const invite = await callee.next(isRequest('INVITE'));
    (await sent).cancel();
    await recorder.waitFor(fromServer('response', (f) => f.body.includes('\r\nCANCEL ')));
    expect(await callee.collect(300, isRequest('CANCEL'))).toEqual([]);
    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'callee6' }));
    const cancel = await callee.next(isRequest('CANCEL'));
    expect(branchOf(cancel.text)).toBe(branchOf(invite.text));
    callee.send(responseTo(request(cancel), 200, 'OK'));
    callee.send(responseTo(request(invite), 487, 'Request Terminated', { toTag: 'callee6' }));
    await callee.next(isRequest('ACK'));
    await answered;
  });

  it('a 407 is answered with a new INVITE carrying Proxy-Authorization, the same Call-ID and From tag and the next CSeq', async () => {
    const answered = srf.createUAC(calleeUri(), { localSdp: SDP, auth: { username: 'trunkuser', password: 'trunkpass' } });
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(
      responseTo(request(invite), 407, 'Proxy Authentication Required', {
        toTag: 'callee7',
        extraHeaders: ['Proxy-Authenticate: Digest realm="trunk", nonce="n0nce", qop="auth", algorithm=MD5'],
      }),
    );
    await callee.next(isRequest('ACK'));
    const retry = await callee.next(isRequest('INVITE'));
    expect(header(retry.text, 'Proxy-Authorization')).toMatch(/^Digest username="trunkuser", realm="trunk", nonce="n0nce"/);
    expect(header(retry.text, 'Call-ID')).toBe(header(invite.text, 'Call-ID'));
    expect(header(retry.text, 'From')).toBe(header(invite.text, 'From'));
    expect(Number(header(retry.text, 'CSeq')!.split(' ')[0])).toBe(Number(header(invite.text, 'CSeq')!.split(' ')[0]) + 1);
    expect(retry.text).not.toContain('trunkpass');
    callee.send(responseTo(request(retry), 200, 'OK', { toTag: 'callee8', sdp: SDP, extraHeaders: [contact()] }));
    const dialog = await answered;
    await callee.next(isRequest('ACK'));
    void dialog.destroy();
    callee.send(responseTo(request(await callee.next(isRequest('BYE'))), 200, 'OK'));
  });
});

describe('a non-INVITE request from the app', () => {
  it('OPTIONS is sent without Contact and its 200 reaches the app with no dialog id', async () => {
    const status = new Promise<number>((resolve, reject) =>
      srf.request(calleeUri(), { method: 'OPTIONS' }, (err, req) => (err ? reject(err) : req.on('response', (res) => resolve(res.status)))),
    );
    const options = await callee.next(isRequest('OPTIONS'));
    expect(header(options.text, 'Contact')).toBeUndefined();
    expect(header(options.text, 'From')).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${target.sipAddress.port}>;tag=\\w+$`));
    callee.send(responseTo(request(options), 200, 'OK'));
    expect(await status).toBe(200);
    expect((await recorder.waitFor(sipToApp(200))).message.args[7]).toBe('');
  });

  it('REGISTER carries the app\'s Contact and Expires, and a 401 reaches the app', async () => {
    const status = new Promise<number>((resolve, reject) =>
      srf.request(`sip:127.0.0.1:${callee.port}`, { method: 'REGISTER', headers: { Contact: '<sip:gw@127.0.0.1>', Expires: '300', To: 'sip:gw@example.com', From: 'sip:gw@example.com' } }, (err, req) =>
        err ? reject(err) : req.on('response', (res) => resolve(res.status)),
      ),
    );
    const register = await callee.next(isRequest('REGISTER'));
    expect(header(register.text, 'Contact')).toBe('<sip:gw@127.0.0.1>');
    expect(header(register.text, 'Expires')).toBe('300');
    expect(header(register.text, 'To')).toBe('<sip:gw@example.com>');
    callee.send(responseTo(request(register), 401, 'Unauthorized', { extraHeaders: ['WWW-Authenticate: Digest realm="trunk", nonce="n1"'] }));
    expect(await status).toBe(401);
  });
});

describe('over TCP', () => {
  it('a request to a URI with ;transport=tcp goes over a connection the server opens, and the answer on it reaches the app', async () => {
    const received: string[] = [];
    const connections: Socket[] = [];
    const listener = createServer((socket) => {
      connections.push(socket);
      const framer = new SipStreamFramer();
      socket.on('data', (chunk: Buffer) => {
        for (const message of framer.push(chunk).messages) {
          const text = message.toString('utf8');
          received.push(text);
          socket.write(responseTo(parseSipMessage(text) as SipRequest, 200, 'OK'));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const status = new Promise<number>((resolve, reject) =>
        srf.request(`sip:bob@127.0.0.1:${port};transport=tcp`, { method: 'OPTIONS' }, (err, req) => (err ? reject(err) : req.on('response', (res) => resolve(res.status)))),
      );
      expect(await status).toBe(200);
      expect(header(received[0]!, 'Via')).toMatch(/^SIP\/2\.0\/TCP /);
      expect((await recorder.waitFor(sipToApp(200))).message.args[2]).toBe('tcp');
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });
});

describe('a connection that cannot be made', () => {
  it('fails a request to a ;transport=tcp URI at once with a 503', async () => {
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    const started = performance.now();
    const status = await new Promise<number>((resolve, reject) =>
      srf.request(`sip:bob@127.0.0.1:${port};transport=tcp`, { method: 'OPTIONS' }, (err, req) => (err ? reject(err) : req.on('response', (res) => resolve(res.status)))),
    );
    expect(status).toBe(503);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('over TLS', () => {
  let certificate: TestCertificate;
  let tlsTarget: DrachtioTarget;
  let tlsSrf: SrfUac;

  beforeEach(async () => {
    certificate = await makeTestCertificate();
    tlsTarget = await drachtioTarget({}, certificate);
    tlsSrf = new (Srf as unknown as new () => SrfUac)();
    await new Promise<void>((resolve, reject) => {
      tlsSrf.on('connect', (err) => (err ? reject(err) : resolve()));
      tlsSrf.connect({ host: tlsTarget.adminAddress.host, port: tlsTarget.adminAddress.port, secret: tlsTarget.secret, reconnect: { maxAttempts: 1 } });
    });
  });

  afterEach(async () => {
    tlsSrf?.disconnect();
    await tlsTarget?.close();
    await certificate?.remove();
  });

  const options = (uri: string) =>
    new Promise<{ status: number; reason: string }>((resolve, reject) =>
      tlsSrf.request(uri, { method: 'OPTIONS' }, (err, req) => (err ? reject(err) : req.on('response', (res) => resolve(res as unknown as { status: number; reason: string })))),
    );

  it('a request to a sips: URI, or to sip:...;transport=tls, goes over TLS from the TLS contact (Via without rport); an INVITE carries Contact <sip:<host>:<TLS port>;transport=tls>', async () => {
    const callee = await SipPeer.tlsServer(certificate);
    try {
      const tlsPort = tlsTarget.sipTlsAddress!.port;
      const failed = tlsSrf.createUAC(`sips:bob@127.0.0.1:${callee.port}`, { localSdp: SDP }).then(
        () => 0,
        (err: { status: number }) => err.status,
      );
      const invite = await callee.next(isRequest('INVITE'), 5000);
      expect(header(invite.text, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${tlsPort};branch=[^;]+$`));
      expect(header(invite.text, 'Contact')).toBe(`<sip:127.0.0.1:${tlsPort};transport=tls>`);
      callee.send(responseTo(request(invite), 486, 'Busy Here', { toTag: 'tlsbusy' }));
      expect(await failed).toBe(486);
      await callee.next(isRequest('ACK'), 5000);

      const answered = options(`sip:bob@127.0.0.1:${callee.port};transport=tls`);
      const request2 = await callee.next(isRequest('OPTIONS'), 5000);
      expect(header(request2.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
      callee.send(responseTo(request(request2), 200, 'OK'));
      expect((await answered).status).toBe(200);
    } finally {
      await callee.close();
    }
  });

  it('a TLS connection that cannot be made fails the request at once with a 503 whose To has a tag', async () => {
    const closed = await SipPeer.tlsServer(certificate);
    const port = closed.port;
    await closed.close();
    const started = performance.now();
    const answer = await options(`sips:bob@127.0.0.1:${port}`);
    expect(answer.status).toBe(503);
    expect((answer as unknown as { get(name: string): string }).get('To')).toMatch(/;tag=\S+$/);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
