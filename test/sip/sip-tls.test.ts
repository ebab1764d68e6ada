/**
 * SIP over TLS: a raw TLS client, trusting only the certificate this file makes with
 * openssl, dials a meeting through drachtio (the stand-in, or a real drachtio-server when
 * DRACHTIO_SERVER_BIN is set: started with the same certificate on a `sips:` contact)
 * and the real gateway. What the phone sends and what the gateway sends back both travel
 * over the phone's TLS connection; broken TLS clients are dropped without harm.
 */
import { createConnection } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway, startTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, type HostPort, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { type SipRequest, firstLine, header, parseSipMessage, responseTo } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';
import { capturedLogger } from '../support/log-capture.js';
import { until } from '../support/until.js';

let certificate: TestCertificate;
let target: DrachtioTarget;
let gateway: Gateway;
let tlsAddress: HostPort;
let identity: { username: string; password: string };
const peers: SipPeer[] = [];

beforeAll(async () => {
  certificate = await makeTestCertificate();
  target = await drachtioTarget({}, certificate);
  tlsAddress = target.sipTlsAddress!;
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '44700', RTP_MAX_PORT: '44799' });
  await gateway.meetings.create({ id: 'tls-room' });
  identity = await gateway.sipCredentials.create({ meetingId: 'tls-room' });
}, 30_000);

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  await certificate?.remove();
});

async function tlsPeer(address: HostPort = tlsAddress): Promise<SipPeer> {
  const peer = await SipPeer.tls(address, certificate.cert);
  peers.push(peer);
  return peer;
}

const sipsUri = (meetingId: string, address: HostPort = tlsAddress) => `sips:${meetingId}@${address.host}:${address.port}`;

/** INVITE, 401, ACK, INVITE with digest credentials: the final response to the second INVITE. */
async function authenticatedInvite(peer: SipPeer, caller: SipCaller): Promise<ReceivedSip> {
  caller.invite({ body: PCMU_OFFER(30000) });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, identity) });
  return peer.next(isFinalResponse, 10_000);
}

function options(peer: SipPeer, uri: string, callId: string): void {
  peer.send(
    [`OPTIONS ${uri} SIP/2.0`, `Via: SIP/2.0/TLS ${peer.hostport};rport;branch=z9hG4bK${callId}`, 'Max-Forwards: 70',
      'From: <sips:probe@127.0.0.1>;tag=1', `To: <${uri}>`, `Call-ID: ${callId}@test`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
  );
}

/** Resolves with what the server wrote before it closed the connection (fails after 5 s). */
function closedBy(socket: { on(event: 'data', listener: (chunk: Buffer) => void): unknown; once(event: 'close', listener: () => void): unknown }): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => reject(new Error('the TLS port kept the connection open')), 5000);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

describe('a call over TLS', () => {
  it('dials sips:<meeting>, authenticates, is answered with a sips: Contact, ACKs and hangs up, all on its TLS connection', { timeout: 20_000 }, async () => {
    const peer = await tlsPeer();
    const caller = new SipCaller(peer, sipsUri('tls-room'));
    const answered = await authenticatedInvite(peer, caller);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    expect(header(answered.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    expect(header(answered.text, 'Contact')).toMatch(new RegExp(`^<sips:127\\.0\\.0\\.1:${tlsAddress.port};transport=tls>$`));
    caller.inDialog(answered, 'ACK');
    await until(async () => (await gateway.store.listCalls('tls-room')).length === 1, 5000, 'the call up');
    expect(gateway.sip.calls.get(caller.callId)).toBeDefined();

    caller.inDialog(answered, 'BYE');
    const ok = await peer.next(isResponse(200, 'BYE'));
    expect(header(ok.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    await until(async () => (await gateway.store.listCalls('tls-room')).length === 0, 5000, 'the call gone');
  });

  it('dials sip:<meeting>;transport=tls too, answered with the server\'s sips: TLS contact', { timeout: 20_000 }, async () => {
    const peer = await tlsPeer();
    const caller = new SipCaller(peer, `sip:tls-room@${tlsAddress.host}:${tlsAddress.port};transport=tls`);
    const answered = await authenticatedInvite(peer, caller);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    // RFC 3261 12.1.1 asks a sips: Contact only for a sips: request; drachtio-server always puts its (sips:) TLS contact.
    expect(header(answered.text, 'Contact')).toBe(`<sips:127.0.0.1:${tlsAddress.port};transport=tls>`);
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
  });

  it('hears the gateway hang up: its BYE comes down the TLS connection', { timeout: 20_000 }, async () => {
    const peer = await tlsPeer();
    const caller = new SipCaller(peer, sipsUri('tls-room'));
    const answered = await authenticatedInvite(peer, caller);
    caller.inDialog(answered, 'ACK');
    await until(async () => (await gateway.store.listCalls('tls-room')).length === 1, 5000, 'the call up');

    const hangUp = await fetch(`${gateway.httpUrl}/api/calls/${encodeURIComponent(caller.callId)}`, { method: 'DELETE' });
    expect(hangUp.status).toBe(204);
    const bye = await peer.next(isRequest('BYE'), 5000);
    expect(header(bye.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK/);
    expect(header(bye.text, 'Call-ID')).toBe(caller.callId);
    expect(header(bye.text, 'From')).toMatch(/^<sips:tls-room@/);
    peer.send(responseTo(parseSipMessage(bye.text) as SipRequest, 200, 'OK'));
    await until(async () => (await gateway.store.listCalls('tls-room')).length === 0, 5000, 'the call gone');
  });
});

describe('broken TLS clients', () => {
  it('drops plain SIP, garbage and a client that refuses the certificate, and goes on serving TLS', { timeout: 20_000 }, async () => {
    const plain = createConnection({ host: tlsAddress.host, port: tlsAddress.port });
    const plainClosed = closedBy(plain);
    plain.once('connect', () =>
      plain.write(`OPTIONS ${sipsUri('tls-room')} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKplain\r\nContent-Length: 0\r\n\r\n`),
    );
    plain.on('error', () => undefined);
    expect(await plainClosed).not.toContain('SIP/2.0');

    const garbage = createConnection({ host: tlsAddress.host, port: tlsAddress.port });
    const garbageClosed = closedBy(garbage);
    garbage.once('connect', () => garbage.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, ...Array.from({ length: 512 }, (_, i) => i % 256)])));
    garbage.on('error', () => undefined);
    expect(await garbageClosed).not.toContain('SIP/2.0');

    // Trusting no certificate of ours, this client ends the handshake itself.
    const refusing = connectTls({ host: tlsAddress.host, port: tlsAddress.port });
    const refused = new Promise<Error>((resolve) => refusing.once('error', resolve));
    expect((await refused).message).toMatch(/self[- ]signed/i);
    refusing.destroy();

    const peer = await tlsPeer();
    options(peer, sipsUri('tls-room'), 'after-broken');
    const answer = await peer.next(isFinalResponse);
    expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
  });
});

describe('SIP_TLS_CERT and SIP_TLS_KEY', () => {
  it('make the embedded stand-in serve SIP over TLS on SIP_TLS_PORT, and the key is never logged', { timeout: 30_000 }, async () => {
    const captured = capturedLogger();
    const embedded = await startTestGateway(
      {
        SIP_TLS_CERT: certificate.certFile,
        SIP_TLS_KEY: certificate.keyFile,
        SIP_TLS_PORT: '0',
        RTP_MIN_PORT: '44800',
        RTP_MAX_PORT: '44899',
      },
      captured.log,
    );
    try {
      await until(async () => (await fetch(`${embedded.httpUrl}/readyz`)).status === 200, 10_000, 'the gateway connected to its stand-in');
      const address = embedded.sip.frontEnd.sipTlsAddress!;
      expect(address.port).not.toBe(embedded.sip.frontEnd.sipAddress!.port);
      const peer = await tlsPeer(address);
      options(peer, sipsUri('anything', address), 'embedded');
      const answer = await peer.next(isFinalResponse);
      expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
      expect(header(answer.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    } finally {
      await embedded.close();
    }
    // The configuration line names the files; neither the key nor any part of it is in the log.
    expect(captured.text()).toContain(certificate.keyFile);
    const keyBody = certificate.key.split('\n').filter((line) => line && !line.startsWith('-----'));
    for (const line of keyBody) expect(captured.text()).not.toContain(line);
    expect(captured.text()).not.toContain('PRIVATE KEY');
  });
});
