/**
 * Dialling out (POST /api/meetings/:id/dial-out) through drachtio (the stand-in, or a real
 * drachtio-server with DRACHTIO_SERVER_BIN) to a test SIP UA playing the callee: answered
 * (the callee is a phone participant, heard in the meeting), busy, no answer within the
 * ring timeout, cancelled by DELETE /api/calls/:callId, through a trunk that challenges
 * with 407, and the API's refusals; a browser in the meeting is told each step.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { capturedLogger } from '../support/log-capture.js';
import { expectedResponse, parseDigest } from '../support/sip/digest.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { firstLine, header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isRequest } from '../support/sip/sip-peer.js';
import { pcmuTone, rtpPacket } from '../support/rtp.js';
import { RtpPhone } from '../support/phone/rtp-phone.js';
import { SrtpSession } from '../../src/media/srtp/srtp-session.js';
import { SignalingTestClient } from '../support/signaling-client.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { until } from '../support/until.js';
import { answerJson } from '../support/json-api.js';

let target: DrachtioTarget;
let gateway: Gateway;
let callee: SipPeer | undefined;
let webhooks: WebhookReceiver;
const logs = capturedLogger();
const TRUNK_PASSWORD = 'trunk-pass-Ww93k';

beforeAll(async () => {
  target = await drachtioTarget();
  webhooks = await WebhookReceiver.start();
  gateway = await startSipTestGateway(
    target,
    { RTP_MIN_PORT: '47100', RTP_MAX_PORT: '47299', MAX_PARTICIPANTS: '2', PAGE_DIAL_OUT: 'true', WEBHOOK_URL: webhooks.url, WEBHOOK_SECRET: 'whsec-dial-out-0123456789' },
    logs.log,
  );
});

afterEach(async () => {
  await callee?.close();
  callee = undefined;
  browser?.close();
  browser = undefined;
});

let browser: SignalingTestClient | undefined;

/** A browser joined to the meeting over the signaling socket, to hear what it is told. */
async function joinBrowser(meetingId: string): Promise<SignalingTestClient> {
  const client = await SignalingTestClient.connect(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/${meetingId}`);
  browser = client;
  const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
  await client.request('join', { displayName: 'Browser', rtpCapabilities });
  return client;
}

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  await webhooks?.close();
});

interface CallView {
  readonly state: string;
  readonly caller?: string;
  readonly codec?: string;
  readonly dialOut?: { readonly to: string; readonly state: string; readonly sipStatus?: number; readonly reason?: string };
}

const api = (method: string, path: string, body?: unknown) => answerJson(`${gateway.httpUrl}/api`, method, path, body);

async function dialOut(meetingId: string, body: Record<string, unknown>): Promise<string> {
  const { status, json } = await api('POST', `/meetings/${meetingId}/dial-out`, body);
  expect(status).toBe(202);
  return json.callId as string;
}

const callView = async (callId: string) => (await api('GET', `/calls/${callId}`)).json as unknown as CallView;
const calleeUri = () => `sip:bob@127.0.0.1:${callee!.port}`;
const request = (m: ReceivedSip) => parseSipMessage(m.text) as SipRequest;
const bodyOf = (m: ReceivedSip) => m.text.slice(m.text.indexOf('\r\n\r\n') + 4);
const audioPortOf = (sdp: string) => Number(/^m=audio (\d+) /m.exec(sdp)?.[1]);

/** A request from the callee in the dialog our INVITE made: its From is our To with its tag, its To our From. */
function inDialogFromCallee(method: 'INVITE' | 'ACK', invite: ReceivedSip, calleeTag: string, cseq: number, sdp?: string): string {
  const lines = [
    `${method} sip:${target.sipAddress.host}:${target.sipAddress.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${callee!.port};branch=z9hG4bK${method.toLowerCase()}${cseq}${calleeTag}`,
    'Max-Forwards: 70',
    `From: ${header(invite.text, 'To')};tag=${calleeTag}`,
    `To: ${header(invite.text, 'From')}`,
    `Call-ID: ${header(invite.text, 'Call-ID')}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <${calleeUri()}>`,
  ];
  if (sdp) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(sdp ?? '')}`, '', sdp ?? '');
  return lines.join('\r\n');
}

const reInvite = (invite: ReceivedSip, calleeTag: string, cseq: number, sdp: string) => inDialogFromCallee('INVITE', invite, calleeTag, cseq, sdp);
const ackFor = (invite: ReceivedSip, calleeTag: string, cseq: number) => inDialogFromCallee('ACK', invite, calleeTag, cseq);

async function sendPcmuTone(toPort: number, frames: number): Promise<void> {
  const socket = createSocket('udp4');
  try {
    for (let i = 0; i < frames; i++) {
      socket.send(rtpPacket({ payloadType: 0, sequenceNumber: i, timestamp: i * 160, ssrc: 0x5151 }, pcmuTone(1000, i)), toPort, '127.0.0.1');
      await sleep(20);
    }
  } finally {
    socket.close();
  }
}

describe('POST /api/meetings/:id/dial-out', () => {
  it('refuses a "to" that is not a SIP URI (400), TLS that cannot be checked (503), an unknown meeting (404) and an ended one (409)', async () => {
    await gateway.meetings.create({ id: 'dial-refusals' });
    const bad = await api('POST', '/meetings/dial-refusals/dial-out', { to: '+441234567890' });
    expect(bad).toMatchObject({ status: 400, json: { message: '"to" must be a SIP URI: sip:user@host[:port][;transport=udp|tcp|tls] or sips:user@host[:port]' } });
    const sipsOverUdp = await api('POST', '/meetings/dial-refusals/dial-out', { to: 'sips:bob@127.0.0.1;transport=udp' });
    expect(sipsOverUdp.status, 'sips: is TLS only').toBe(400);
    // SIP_TLS_VERIFY is on (the default) and DRACHTIO_ADDRESS is set: drachtio-server would not check the callee's certificate.
    const overTls = await api('POST', '/meetings/dial-refusals/dial-out', { to: 'sips:bob@127.0.0.1' });
    expect(overTls).toMatchObject({ status: 503, json: { message: expect.stringMatching(/^cannot dial over TLS: SIP_TLS_VERIFY is on and drachtio-server \(DRACHTIO_ADDRESS\) does not check/) } });
    expect((await api('POST', '/meetings/nosuch-meeting/dial-out', { to: 'sip:bob@127.0.0.1' })).status).toBe(404);
    await gateway.meetings.end('dial-refusals', 'test');
    const ended = await api('POST', '/meetings/dial-refusals/dial-out', { to: 'sip:bob@127.0.0.1' });
    expect(ended).toMatchObject({ status: 409, json: { message: 'meeting "dial-refusals" has ended' } });
  });

  it('refuses a full meeting (409) before anything is sent', async () => {
    await gateway.meetings.create({ id: 'dial-full' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const others = [await joinBrowser('dial-full'), await joinBrowser('dial-full')];
    const full = await api('POST', '/meetings/dial-full/dial-out', { to: calleeUri() });
    expect(full).toMatchObject({ status: 409, json: { message: 'meeting "dial-full" is full (2 participants)' } });
    expect(await peer.collect(300, isRequest('INVITE'))).toEqual([]);
    for (const other of others) other.close();
  });

  it('calls the callee with our offer; it rings, answers, is a phone participant heard in the meeting, holds, and DELETE hangs it up with a BYE', async () => {
    await gateway.meetings.create({ id: 'dial-answered' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const watcher = await joinBrowser('dial-answered');
    const callId = await dialOut('dial-answered', { to: calleeUri(), displayName: 'Bob' });
    const invite = await callee.next(isRequest('INVITE'));
    expect(firstLine(invite.text)).toBe(`INVITE ${calleeUri()} SIP/2.0`);
    expect(header(invite.text, 'Call-ID')).toBe(callId);
    expect(header(invite.text, 'From')).toMatch(new RegExp(`^<sip:dial-answered@${target.sipAddress.host}>;tag=`));
    expect(bodyOf(invite)).toMatch(/^m=audio \d+ RTP\/AVP 0 8 9 111 101 110\r$/m);
    expect(await callView(callId)).toMatchObject({ state: 'setting-up', dialOut: { to: calleeUri(), state: 'calling' } });

    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'bob1' }));
    await until(async () => (await callView(callId)).dialOut?.state === 'ringing', 2000, 'the dial-out ringing');

    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'bob1', sdp: PCMU_OFFER(30020), extraHeaders: [`Contact: <${calleeUri()}>`] }));
    await callee.next(isRequest('ACK'));
    await until(async () => (await gateway.store.listCalls('dial-answered')).length === 1, 3000, 'the call recorded');
    expect(await callView(callId)).toMatchObject({ state: 'answered', caller: 'Bob', codec: 'PCMU', dialOut: { state: 'answered' } });
    // The meeting's browser was told each step, and sees the callee join.
    for (const state of ['calling', 'ringing', 'answered']) await watcher.notification('dialOut', (d) => d.callId === callId && d.state === state);
    await watcher.notification('participantJoined', (d) => d.participant.displayName === 'Bob' && d.participant.kind === 'phone');

    const room = (await gateway.rooms.existing('dial-answered'))!;
    const tone = sendPcmuTone(audioPortOf(bodyOf(invite)), 60);
    await until(() => room.views().some((p) => p.kind === 'phone' && p.displayName === 'Bob' && p.speaking), 3000, 'the callee speaking in the meeting');
    await tone;

    // The callee holds with a re-INVITE in the dialog our INVITE made: answered, and shown muted.
    const hold = reInvite(invite, 'bob1', 2, PCMU_OFFER(30020).replace('a=sendrecv', 'a=sendonly'));
    callee.send(hold);
    const held = await callee.next((m) => m.text.startsWith('SIP/2.0 200') && (header(m.text, 'CSeq') ?? '') === '2 INVITE');
    expect(bodyOf(held)).toMatch(/^a=recvonly\r$/m);
    callee.send(ackFor(invite, 'bob1', 2));
    await until(() => room.views().find((p) => p.displayName === 'Bob')?.muted === true, 2000, 'the callee on hold shown muted');

    expect((await api('DELETE', `/calls/${callId}`)).status).toBe(204);
    const bye = await callee.next(isRequest('BYE'));
    expect(header(bye.text, 'Reason')).toMatch(/^Q\.850;cause=16;/);
    callee.send(responseTo(request(bye), 200, 'OK'));
    expect(await callView(callId)).toMatchObject({ state: 'closed', dialOut: { state: 'ended' } });
    // The call webhooks, as for a dial-in call.
    const callEvents = () => webhooks.accepted().filter((event) => 'callId' in event.data && event.data.callId === callId).map((event) => event.type);
    await until(() => callEvents().includes('call.ended'), 5000, 'the call.ended webhook');
    expect(callEvents()).toEqual(['call.ringing', 'call.answered', 'call.ended']);
    expect(gateway.sip.calls.has(callId)).toBe(false);
    await until(() => !room.views().some((p) => p.kind === 'phone'), 2000, 'the callee gone from the meeting');
    await watcher.notification('dialOut', (d) => d.callId === callId && d.state === 'ended');
  });

  it('offers SDES on RTP/AVP with one AES_CM_128_HMAC_SHA1_80 line (SIP_SRTP=optional); a callee answering with a=crypto talks SRTP both ways', async () => {
    await gateway.meetings.create({ id: 'dial-srtp' });
    callee = await SipPeer.udp(target.sipAddress);
    const rtp = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz: 1000 });
    try {
      const callId = await dialOut('dial-srtp', { to: calleeUri(), displayName: 'Secure' });
      const invite = await callee.next(isRequest('INVITE'));
      const offer = bodyOf(invite);
      expect(offer).toMatch(/^m=audio \d+ RTP\/AVP /m);
      const crypto = [...offer.matchAll(/^a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)\r$/gm)];
      expect(crypto.map(([, tag, suite]) => `${tag} ${suite}`)).toEqual(['1 AES_CM_128_HMAC_SHA1_80']);
      const gatewayKey = Buffer.from(crypto[0]![3]!, 'base64');
      const calleeKey = randomBytes(30);
      const answer = `${PCMU_OFFER(rtp.port)}a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${calleeKey.toString('base64')}\r\n`;
      callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'sec1', sdp: answer, extraHeaders: [`Contact: <${calleeUri()}>`] }));
      await callee.next(isRequest('ACK'));
      await until(async () => (await callView(callId)).dialOut?.state === 'answered', 3000, 'answered');
      // Only what is protected with the keys of the two SDPs gets through, either way.
      rtp.secure(new SrtpSession({ suite: 'AES_CM_128_HMAC_SHA1_80', localKey: calleeKey, remoteKey: gatewayKey }));
      rtp.talk(audioPortOf(offer));
      const room = (await gateway.rooms.existing('dial-srtp'))!;
      await until(() => room.views().some((p) => p.displayName === 'Secure' && p.speaking), 5000, 'the SRTP callee heard in the meeting');
      await until(() => rtp.received.length > 10, 5000, "the gateway's SRTP decrypted with the key of its offer");

      expect((await api('DELETE', `/calls/${callId}`)).status).toBe(204);
      const bye = await callee.next(isRequest('BYE'));
      callee.send(responseTo(request(bye), 200, 'OK'));
    } finally {
      rtp.close();
    }
  });

  it('a joined browser dials out over its signaling socket (PAGE_DIAL_OUT=true): the callee answers and the browser sees each state', async () => {
    await gateway.meetings.create({ id: 'dial-from-page' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const page = await SignalingTestClient.connect(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/dial-from-page`);
    browser = page;
    const { rtpCapabilities } = await page.request('getRouterRtpCapabilities', {});
    expect(await page.request('join', { displayName: 'Browser', rtpCapabilities })).toMatchObject({ canDialOut: true });
    const { callId } = await page.request('dialOut', { to: calleeUri() });
    const invite = await peer.next(isRequest('INVITE'));
    expect(header(invite.text, 'Call-ID')).toBe(callId);
    peer.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'page1' }));
    peer.send(responseTo(request(invite), 200, 'OK', { toTag: 'page1', sdp: PCMU_OFFER(30040), extraHeaders: [`Contact: <${calleeUri()}>`] }));
    await peer.next(isRequest('ACK'));
    for (const state of ['calling', 'ringing', 'answered']) await page.notification('dialOut', (d) => d.callId === callId && d.state === state);
    await page.notification('participantJoined', (d) => d.participant.kind === 'phone');

    expect((await api('DELETE', `/calls/${callId}`)).status).toBe(204);
    const bye = await peer.next(isRequest('BYE'));
    peer.send(responseTo(request(bye), 200, 'OK'));
    await page.notification('dialOut', (d) => d.callId === callId && d.state === 'ended');
  });

  it('a busy callee (486) ends the dial-out as busy with its status and reason', async () => {
    await gateway.meetings.create({ id: 'dial-busy' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const watcher = await joinBrowser('dial-busy');
    const callId = await dialOut('dial-busy', { to: calleeUri() });
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 486, 'Busy Here', { toTag: 'bob2' }));
    await callee.next(isRequest('ACK'));
    await until(async () => (await callView(callId)).state === 'closed', 2000, 'the dial-out closed');
    expect((await callView(callId)).dialOut).toEqual({ to: calleeUri(), state: 'busy', sipStatus: 486, reason: 'Busy Here' });
    expect(await watcher.notification('dialOut', (d) => d.callId === callId && d.state === 'busy')).toEqual({ callId, to: calleeUri(), state: 'busy', sipStatus: 486, reason: 'Busy Here' });
    expect(await callee.collect(300, isRequest('CANCEL'))).toEqual([]);
  });

  it('a callee that rings past timeoutSeconds is CANCELled: no-answer', async () => {
    await gateway.meetings.create({ id: 'dial-no-answer' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const callId = await dialOut('dial-no-answer', { to: calleeUri(), timeoutSeconds: 5 });
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'bob3' }));
    const cancel = await callee.next(isRequest('CANCEL'), 7000);
    callee.send(responseTo(request(cancel), 200, 'OK'));
    callee.send(responseTo(request(invite), 487, 'Request Terminated', { toTag: 'bob3' }));
    await callee.next(isRequest('ACK'));
    await until(async () => (await callView(callId)).state === 'closed', 2000, 'the dial-out closed');
    expect((await callView(callId)).dialOut).toMatchObject({ state: 'no-answer', reason: 'no answer within 5 s' });
  }, 15_000);

  it('DELETE /api/calls/:callId while it rings sends a CANCEL: cancelled', async () => {
    await gateway.meetings.create({ id: 'dial-cancel' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const callId = await dialOut('dial-cancel', { to: calleeUri() });
    const invite = await callee.next(isRequest('INVITE'));
    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'bob4' }));
    await until(async () => (await callView(callId)).dialOut?.state === 'ringing', 2000, 'the dial-out ringing');
    expect((await api('DELETE', `/calls/${callId}`)).status).toBe(204);
    const cancel = await callee.next(isRequest('CANCEL'));
    callee.send(responseTo(request(cancel), 200, 'OK'));
    callee.send(responseTo(request(invite), 487, 'Request Terminated', { toTag: 'bob4' }));
    await callee.next(isRequest('ACK'));
    await until(async () => (await callView(callId)).dialOut?.sipStatus === 487, 2000, 'the 487 seen');
    expect((await callView(callId)).dialOut).toMatchObject({ state: 'cancelled', sipStatus: 487 });
  });
});

describe('through a trunk', () => {
  it('dials sip:<number>@<trunk host> with the trunk\'s caller id, answers its 407 with the trunk\'s credentials, and never logs the password', async () => {
    await gateway.meetings.create({ id: 'dial-trunk' });
    const peer = await SipPeer.udp(target.sipAddress);
    callee = peer;
    const trunk = await api('POST', '/trunks', {
      id: 'test-carrier',
      address: `sip:127.0.0.1:${callee.port}`,
      username: 'carrier-acct',
      password: TRUNK_PASSWORD,
      callerId: '+4930111222',
      allowedPrefixes: ['+49'],
    });
    expect(trunk.status).toBe(201);
    const callId = await dialOut('dial-trunk', { to: '+4917012345', trunk: 'test-carrier' });
    const invite = await callee.next(isRequest('INVITE'));
    expect(firstLine(invite.text)).toBe(`INVITE sip:+4917012345@127.0.0.1:${callee.port} SIP/2.0`);
    expect(header(invite.text, 'From')).toMatch(/^<sip:\+4930111222@127\.0\.0\.1>;tag=/);
    callee.send(
      responseTo(request(invite), 407, 'Proxy Authentication Required', {
        toTag: 'carrier1',
        extraHeaders: ['Proxy-Authenticate: Digest realm="carrier", nonce="f00dcafe", qop="auth", algorithm=MD5'],
      }),
    );
    await callee.next(isRequest('ACK'));
    const retry = await callee.next(isRequest('INVITE'));
    const credentials = parseDigest(header(retry.text, 'Proxy-Authorization') ?? '');
    expect(credentials).toMatchObject({ username: 'carrier-acct', realm: 'carrier', nonce: 'f00dcafe' });
    expect(credentials.response).toBe(expectedResponse('INVITE', TRUNK_PASSWORD, credentials));
    expect(header(retry.text, 'Call-ID')).toBe(callId);

    callee.send(responseTo(request(retry), 200, 'OK', { toTag: 'carrier2', sdp: PCMU_OFFER(30030), extraHeaders: [`Contact: <sip:+4917012345@127.0.0.1:${callee.port}>`] }));
    await callee.next(isRequest('ACK'));
    await until(async () => (await callView(callId)).dialOut?.state === 'answered', 3000, 'the trunk call answered');
    expect((await callView(callId)).dialOut).toEqual({ to: '+4917012345', state: 'answered' });
    expect((await api('DELETE', `/calls/${callId}`)).status).toBe(204);
    callee.send(responseTo(request(await callee.next(isRequest('BYE'))), 200, 'OK'));
    expect(logs.text()).not.toContain(TRUNK_PASSWORD);
  });

  it('refuses a number no prefix allows (403), one that is not a number (400) and an unknown trunk (404)', async () => {
    await gateway.meetings.create({ id: 'dial-trunk-refusals' });
    expect((await api('POST', '/trunks', { id: 'de-only', address: 'sip:127.0.0.1:5999', allowedPrefixes: ['+49'] })).status).toBe(201);
    const abroad = await api('POST', '/meetings/dial-trunk-refusals/dial-out', { to: '+33123456789', trunk: 'de-only' });
    expect(abroad).toMatchObject({ status: 403, json: { message: 'trunk "de-only" may not call +33123456789: allowed prefixes are +49' } });
    const notNumber = await api('POST', '/meetings/dial-trunk-refusals/dial-out', { to: 'sip:bob@127.0.0.1', trunk: 'de-only' });
    expect(notNumber.status).toBe(400);
    expect((await api('POST', '/meetings/dial-trunk-refusals/dial-out', { to: '+4930123', trunk: 'nosuch' })).status).toBe(404);
  });
});
