/**
 * The gateway's SIP answers, request by request, from a raw SIP client through drachtio
 * (the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS, TEST_DRACHTIO_SECRET
 * and TEST_SIP_ADDRESS are set).
 */
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header, headerValues } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { pcmuTone, rtpPacket } from '../support/rtp.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let gateway: Gateway;
let peer: SipPeer;
let identity: { username: string; password: string };

const uriOf = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, {
    MAX_PARTICIPANTS: '1',
    RTP_MIN_PORT: '43500',
    RTP_MAX_PORT: '43699',
  });
  await gateway.meetings.create({ id: 'sip-room' });
  identity = await gateway.sipCredentials.create({});
});

afterEach(async () => {
  await peer?.close();
});

afterAll(async () => {
  await gateway.close();
  await target.close();
});

async function authenticatedInvite(caller: SipCaller, body: string | undefined): Promise<ReceivedSip> {
  caller.invite(body === undefined ? {} : { body });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  caller.invite({ ...(body === undefined ? {} : { body }), authorization: caller.authorization(challenge, identity) });
  return peer.next(isFinalResponse);
}

describe('requests other than INVITE', () => {
  it('answers OPTIONS with 200 and what it allows and accepts', async () => {
    peer = await SipPeer.udp(target.sipAddress);
    peer.send(
      [`OPTIONS ${uriOf('x')} SIP/2.0`, `Via: SIP/2.0/UDP ${peer.hostport};rport;branch=z9hG4bKopt1`, 'Max-Forwards: 70',
        'From: <sip:probe@127.0.0.1>;tag=1', `To: <${uriOf('x')}>`, 'Call-ID: options-1@test', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
    );
    const response = await peer.next(isFinalResponse);
    expect(firstLine(response.text)).toBe('SIP/2.0 200 OK');
    expect(header(response.text, 'Allow')).toBe('INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE');
    expect(header(response.text, 'Accept')).toBe('application/sdp');
  });

  it('answers REGISTER with 405 and Allow', async () => {
    peer = await SipPeer.udp(target.sipAddress);
    peer.send(
      [`REGISTER sip:${target.sipAddress.host} SIP/2.0`, `Via: SIP/2.0/UDP ${peer.hostport};rport;branch=z9hG4bKreg1`, 'Max-Forwards: 70',
        'From: <sip:alice@127.0.0.1>;tag=1', 'To: <sip:alice@127.0.0.1>', 'Call-ID: register-1@test', 'CSeq: 1 REGISTER',
        `Contact: <sip:alice@${peer.hostport}>`, 'Expires: 60', 'Content-Length: 0', '', ''].join('\r\n'),
    );
    const response = await peer.next(isFinalResponse);
    expect(firstLine(response.text)).toBe('SIP/2.0 405 Method Not Allowed');
    expect(header(response.text, 'Allow')).toBe('INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE');
  });
});

describe('authentication', () => {
  it('challenges with one MD5 digest on the defaults, realm = SIP_DOMAIN, qop=auth', async () => {
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('sip-room'));
    caller.invite({ body: PCMU_OFFER(30000) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    const values = headerValues(challenge.text, 'WWW-Authenticate');
    expect(values).toHaveLength(1);
    expect(values[0]).toMatch(/^Digest realm="127\.0\.0\.1", nonce="[A-Za-z0-9_-]{40,}", algorithm=MD5, qop="auth"$/);
  });

  it('costs an unauthenticated INVITE flood nothing but the challenge: no room, no router, no port', async () => {
    peer = await SipPeer.udp(target.sipAddress);
    await gateway.meetings.create({ id: 'flooded' });
    const callers = Array.from({ length: 40 }, () => new SipCaller(peer, uriOf('flooded')));
    for (const caller of callers) caller.invite({ body: PCMU_OFFER(30000) });
    for (let i = 0; i < callers.length; i++) await peer.next(isResponse(401));
    expect(await gateway.rooms.existing('flooded')).toBeUndefined();
    expect(gateway.rooms.count).toBe(0);
    const routers = await Promise.all(gateway.workers.workers.map(async (w) => (await w.dump()).routerIds.length));
    expect(routers.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('refuses a replayed nonce count, with a fresh challenge', async () => {
    await gateway.meetings.create({ id: 'replay' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('replay'));
    caller.invite({ body: 'v=0\r\n' });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    const authorization = caller.authorization(challenge, identity);
    caller.invite({ body: 'v=0\r\n', authorization });
    const first = await peer.next(isFinalResponse);
    caller.ackFailure(first);
    expect(firstLine(first.text)).toMatch(/^SIP\/2\.0 400 /); // that SDP is broken, but the credentials were fine
    caller.invite({ body: 'v=0\r\n', authorization });
    const replayed = await peer.next(isFinalResponse);
    caller.ackFailure(replayed);
    expect(firstLine(replayed.text)).toBe('SIP/2.0 401 Nonce Count Reused');
  });

  it('answers a wrong password with 403', async () => {
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('sip-room'));
    caller.invite({ body: PCMU_OFFER(30000) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, { ...identity, password: 'wrong' }) });
    const response = await peer.next(isFinalResponse);
    caller.ackFailure(response);
    expect(firstLine(response.text)).toBe('SIP/2.0 403 Wrong Credentials');
  });
});

describe('answers that tell a guesser nothing', () => {
  /** One authenticated INVITE for identity to meetingId: its final response and how long it took after the answer to the challenge. */
  async function timedRefusal(meetingId: string, who: { username: string; password: string }) {
    const caller = new SipCaller(peer, uriOf(meetingId));
    caller.invite({ body: PCMU_OFFER(30000) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    const sentAt = performance.now();
    caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, who) });
    const response = await peer.next(isFinalResponse);
    const ms = performance.now() - sentAt;
    caller.ackFailure(response);
    return { response, ms };
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

  it('answers an unknown username, a wrong password and the right password of another meeting\'s credential alike, in about the same time', async () => {
    await gateway.meetings.create({ id: 'oracle-room' });
    await gateway.meetings.create({ id: 'oracle-elsewhere' });
    const elsewhere = await gateway.sipCredentials.create({ meetingId: 'oracle-elsewhere' });
    peer = await SipPeer.udp(target.sipAddress);
    const cases = {
      'unknown username': () => ({ username: `u${Math.random().toString(36).slice(2, 12)}`, password: 'whatever' }),
      'wrong password': () => ({ ...identity, password: 'wrong' }),
      "another meeting's credential": () => elsewhere,
    };
    const times: Record<string, number[]> = {};
    for (let round = 0; round < 5; round++) {
      for (const [name, who] of Object.entries(cases)) {
        const { response, ms } = await timedRefusal('oracle-room', who());
        expect(firstLine(response.text), name).toBe('SIP/2.0 403 Wrong Credentials');
        expect(header(response.text, 'Warning'), name).toBeUndefined();
        (times[name] ??= []).push(ms);
      }
    }
    const medians = Object.values(times).map(median);
    expect(Math.max(...medians) - Math.min(...medians), `median ms: ${JSON.stringify(times)}`).toBeLessThan(25);
    expect(gateway.sip.calls.size).toBe(0);
  });

  it('uses up a nonce once a wrong answer was given on it: the right password on that nonce gets a fresh challenge, not the call', async () => {
    await gateway.meetings.create({ id: 'spent-nonce' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('spent-nonce'));
    caller.invite({ body: PCMU_OFFER(30000) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, { ...identity, password: 'wrong' }) });
    const wrong = await peer.next(isFinalResponse);
    caller.ackFailure(wrong);
    expect(firstLine(wrong.text)).toBe('SIP/2.0 403 Wrong Credentials');
    caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, identity, '00000002') });
    const again = await peer.next(isFinalResponse);
    caller.ackFailure(again);
    expect(firstLine(again.text)).toBe('SIP/2.0 401 Unknown Nonce');
    expect(header(again.text, 'WWW-Authenticate')).not.toContain(/nonce="([^"]+)"/.exec(header(challenge.text, 'WWW-Authenticate') ?? '')![1]);
    // The fresh challenge lets the right password in.
    caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(again, identity) });
    const answered = await peer.next(isFinalResponse);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
  });
});

describe('routing and SDP', () => {
  it.each([
    ['an unknown meeting', 'nobody-here', PCMU_OFFER(30000), 'SIP/2.0 404 Meeting Not Found', /^399 127\.0\.0\.1 "meeting \\"nobody-here\\" does not exist"$/],
    ['malformed SDP', 'sip-room', 'this is not sdp', /^SIP\/2\.0 400 /, /^399 /],
    ['SDP with only video', 'sip-room', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 30000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n', 'SIP/2.0 488 Not Acceptable Here', /^304 /],
    ['no common codec', 'sip-room', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 3\r\na=rtpmap:3 GSM/8000\r\n', 'SIP/2.0 488 Not Acceptable Here', /^305 .*"Incompatible media format: we support PCMU, PCMA, G722, opus"$/],
  ])('answers %s with the right status and a Warning', async (_case, meetingId, body, status, warning) => {
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf(meetingId));
    const response = await authenticatedInvite(caller, body);
    caller.ackFailure(response);
    expect(firstLine(response.text)).toMatch(status);
    expect(header(response.text, 'Warning')).toMatch(warning);
    expect(gateway.sip.calls.size).toBe(0);
  });

  it('answers 486 when the meeting is full, and the first caller keeps its call', async () => {
    await gateway.meetings.create({ id: 'small' });
    peer = await SipPeer.udp(target.sipAddress);
    const first = new SipCaller(peer, uriOf('small'));
    const answered = await authenticatedInvite(first, PCMU_OFFER(30002));
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    // The first caller takes the one place once its call is up, at the ACK.
    first.inDialog(answered, 'ACK');
    await until(async () => (await gateway.rooms.existing('small'))?.size === 1, 2000, 'the first caller in the meeting');
    const second = new SipCaller(peer, uriOf('small'));
    const refused = await authenticatedInvite(second, PCMU_OFFER(30004));
    second.ackFailure(refused);
    expect(firstLine(refused.text)).toBe('SIP/2.0 486 Meeting Full');
    expect(gateway.sip.calls.size).toBe(1);
    await gateway.meetings.end('small');
    await peer.next((m) => m.text.startsWith('BYE '));
    await sleep(100);
    expect(gateway.sip.calls.size).toBe(0);
  });

  it('takes a place in the meeting and shows the phone only at the ACK: a caller answered but not ACKed holds none', async () => {
    await gateway.meetings.create({ id: 'at-ack' });
    peer = await SipPeer.udp(target.sipAddress);
    const unacked = new SipCaller(peer, uriOf('at-ack'));
    const pending = await authenticatedInvite(unacked, PCMU_OFFER(30040));
    expect(firstLine(pending.text)).toBe('SIP/2.0 200 OK');
    expect(gateway.sip.calls.has(unacked.callId)).toBe(true);
    expect((await gateway.rooms.existing('at-ack'))?.size ?? 0).toBe(0);
    expect(await gateway.store.listParticipants('at-ack')).toEqual([]);
    expect(await gateway.store.listCalls('at-ack')).toEqual([]);

    // MAX_PARTICIPANTS is 1: the one place is still free for a caller whose call comes up.
    const acked = new SipCaller(peer, uriOf('at-ack'));
    const answered = await authenticatedInvite(acked, PCMU_OFFER(30042));
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    acked.inDialog(answered, 'ACK');
    await until(async () => (await gateway.store.listParticipants('at-ack')).length === 1, 2000, 'the phone a participant after its ACK');
    expect((await gateway.store.listParticipants('at-ack'))[0]).toMatchObject({ kind: 'phone' });
    expect(await gateway.store.listCalls('at-ack')).toEqual([expect.objectContaining({ callId: acked.callId })]);

    // The unACKed caller's ACK comes now: the meeting is full, so its call ends with a BYE that says so.
    unacked.inDialog(pending, 'ACK');
    const bye = await peer.next((m) => isRequest('BYE')(m) && header(m.text, 'Call-ID') === unacked.callId);
    expect(headerValues(bye.text, 'Reason')).toEqual([expect.stringMatching(/^Q\.850;cause=127;/), expect.stringMatching(/^SIP;cause=486;/)]);
    await until(() => !gateway.sip.calls.has(unacked.callId), 2000, 'the refused call gone');
    expect(await gateway.store.listParticipants('at-ack')).toHaveLength(1);

    acked.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    await expectNothingLeftOf(acked, 'at-ack');
  });

  it('a CANCEL before the answer gets 487 and leaves no call, member or transport behind', async () => {
    await gateway.meetings.create({ id: 'cancelled' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('cancelled'));
    caller.invite({ body: PCMU_OFFER(30006) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    caller.invite({ body: PCMU_OFFER(30006), authorization: caller.authorization(challenge, identity) });
    caller.cancel();
    const terminated = await peer.next(isResponse(487, 'INVITE'));
    caller.ackFailure(terminated);
    await sleep(300);
    expect(gateway.sip.calls.size).toBe(0);
    expect(await gateway.store.listCalls('cancelled')).toEqual([]);
    const room = await gateway.rooms.existing('cancelled');
    expect(room?.size ?? 0).toBe(0);
    if (room) expect((await room.router.dump()).transportIds).toEqual([]);
  });
});

const bodyOf = (m: ReceivedSip) => m.text.slice(m.text.indexOf('\r\n\r\n') + 4);
const audioPortOf = (sdp: string) => Number(/^m=audio (\d+) /m.exec(sdp)?.[1]);

/** Sends `frames` 20 ms PCMU tone packets to the gateway's RTP port, paced in real time. */
async function sendPcmuTone(toPort: number, frames: number): Promise<void> {
  const socket = createSocket('udp4');
  try {
    for (let i = 0; i < frames; i++) {
      socket.send(rtpPacket({ payloadType: 0, sequenceNumber: i, timestamp: i * 160, ssrc: 0x4242 }, pcmuTone(1000, i)), toPort, '127.0.0.1');
      await sleep(20);
    }
  } finally {
    socket.close();
  }
}

describe('late offer (an INVITE without SDP)', () => {
  it('offers every codec and DTMF in the 200, takes the answer from the ACK, and the caller is heard', async () => {
    await gateway.meetings.create({ id: 'late' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('late'));
    const answered = await authenticatedInvite(caller, undefined);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    const offer = bodyOf(answered);
    expect(offer).toMatch(/^m=audio \d+ RTP\/AVP 0 8 9 111 101 110\r$/m);
    expect(offer).toMatch(/^a=rtpmap:111 opus\/48000\/2\r$/m);
    expect(offer).toMatch(/^a=fmtp:101 0-16\r$/m);
    // The call exists before its 200 reaches the caller; it is recorded once the ACK gives its codec.
    expect(gateway.sip.calls.has(caller.callId)).toBe(true);
    expect(await gateway.store.listCalls('late')).toEqual([]);

    caller.inDialog(answered, 'ACK', { body: PCMU_OFFER(30010) });
    await until(async () => (await gateway.store.listCalls('late')).length === 1, 2000, 'the call recorded after the ACK');
    expect((await gateway.store.listCalls('late'))[0]).toMatchObject({ codec: 'PCMU' });

    // The caller's audio reaches the gateway, and the room sees the phone speaking; with no
    // browser in the meeting to hear it, none of it goes on to mediasoup.
    const room = (await gateway.rooms.existing('late'))!;
    const tone = sendPcmuTone(audioPortOf(offer), 60);
    await until(() => room.views().some((p) => p.kind === 'phone' && p.speaking), 3000, 'the phone speaking');
    await tone;
    const call = gateway.sip.calls.get(caller.callId)!;
    expect((await call.media!.quality())?.received?.packets).toBeGreaterThan(40);
    const stats = await call.media!.producer!.getStats();
    expect(stats.reduce((sum, stream) => sum + stream.packetCount, 0)).toBe(0);

    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    await call.whenEnded();
  });

  it('ends the call with a BYE that says why when the ACK answers with no codec we offered', async () => {
    await gateway.meetings.create({ id: 'late-bad' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('late-bad'));
    const answered = await authenticatedInvite(caller, undefined);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    const gsm = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30012 RTP/AVP 3\r\na=rtpmap:3 GSM/8000\r\n';
    caller.inDialog(answered, 'ACK', { body: gsm });
    const bye = await peer.next(isRequest('BYE'));
    expect(header(bye.text, 'Warning')).toMatch(/^305 127\.0\.0\.1 "Incompatible media format: we offered PCMU, PCMA, G722, opus"$/);
    // The Q.850 cause (127, interworking) first, then the SIP status that says more.
    expect(headerValues(bye.text, 'Reason')).toEqual([expect.stringMatching(/^Q\.850;cause=127;/), expect.stringMatching(/^SIP;cause=488;/)]);
    const room = await gateway.rooms.existing('late-bad');
    await until(async () => (room?.size ?? 0) === 0, 2000, 'the phone gone from the room');
    expect(gateway.sip.calls.has(caller.callId)).toBe(false);
    expect(await gateway.store.listCalls('late-bad')).toEqual([]);
  });
});

/** Nothing of a call is left: not in the gateway, not in the store, not in the room, no transport. */
async function expectNothingLeftOf(caller: SipCaller, meetingId: string): Promise<void> {
  await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call gone from the gateway');
  expect(await gateway.store.listCalls(meetingId)).toEqual([]);
  const room = await gateway.rooms.existing(meetingId);
  await until(() => (room?.size ?? 0) === 0, 2000, 'the phone gone from the room');
  // The mixer leg a call that ends mid-start has just opened is closed after the member left.
  if (room) await until(async () => (await room.router.dump()).transportIds.length === 0, 2000, 'no transport left in the room');
}

describe('requests that reach the gateway with the news of its 200 OK', () => {
  it('a BYE sent right after the ACK ends the call cleanly: answered 200, media released, nothing left registered', async () => {
    await gateway.meetings.create({ id: 'quick-bye' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('quick-bye'));
    const answered = await authenticatedInvite(caller, PCMU_OFFER(30016));
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'BYE');
    expect(firstLine((await peer.next(isResponse(200, 'BYE'))).text)).toBe('SIP/2.0 200 OK');
    await expectNothingLeftOf(caller, 'quick-bye');
  });

  it('a BYE right after a late-offer ACK, while the media starts, ends the call cleanly', async () => {
    await gateway.meetings.create({ id: 'quick-bye-late' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('quick-bye-late'));
    const answered = await authenticatedInvite(caller, undefined);
    caller.inDialog(answered, 'ACK', { body: PCMU_OFFER(30018) });
    caller.inDialog(answered, 'BYE');
    expect(firstLine((await peer.next(isResponse(200, 'BYE'))).text)).toBe('SIP/2.0 200 OK');
    await expectNothingLeftOf(caller, 'quick-bye-late');
  });

  it('a hold re-INVITE right after a late-offer ACK is answered recvonly once the media runs', async () => {
    await gateway.meetings.create({ id: 'quick-hold' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('quick-hold'));
    const answered = await authenticatedInvite(caller, undefined);
    caller.inDialog(answered, 'ACK', { body: PCMU_OFFER(30020) });
    caller.inDialog(answered, 'INVITE', { body: PCMU_OFFER(30020).replace('o=caller 1 1', 'o=caller 1 2').replace('a=sendrecv', 'a=sendonly') });
    const held = await peer.next(isResponse(200, 'INVITE'));
    caller.inDialog(held, 'ACK');
    expect(bodyOf(held)).toMatch(/^a=recvonly\r$/m);
    const room = (await gateway.rooms.existing('quick-hold'))!;
    await until(() => room.views().some((p) => p.kind === 'phone' && p.muted), 2000, 'the phone muted on hold');

    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    await expectNothingLeftOf(caller, 'quick-hold');
  });
});

describe('in the call', () => {
  it('shows a caller on hold as muted, answers recvonly, and unmutes on unhold', async () => {
    await gateway.meetings.create({ id: 'on-hold' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('on-hold'));
    const answered = await authenticatedInvite(caller, PCMU_OFFER(30014));
    caller.inDialog(answered, 'ACK');
    const room = (await gateway.rooms.existing('on-hold'))!;
    const phone = () => room.views().find((p) => p.kind === 'phone')!;
    // The caller joins the meeting once its ACK is in.
    await until(() => room.views().some((p) => p.kind === 'phone'), 2000, 'the phone in the meeting');
    expect(phone().muted).toBe(false);

    caller.inDialog(answered, 'INVITE', { body: PCMU_OFFER(30014).replace('o=caller 1 1', 'o=caller 1 2').replace('a=sendrecv', 'a=sendonly') });
    const held = await peer.next(isResponse(200, 'INVITE'));
    caller.inDialog(held, 'ACK');
    expect(bodyOf(held)).toMatch(/^a=recvonly\r$/m);
    const producer = gateway.sip.calls.get(caller.callId)!.media!.producer!;
    await until(() => phone().muted && producer.paused, 2000, 'muted, its producer paused, on hold');

    caller.inDialog(answered, 'INVITE', { body: PCMU_OFFER(30014).replace('o=caller 1 1', 'o=caller 1 3') });
    const resumed = await peer.next(isResponse(200, 'INVITE'));
    caller.inDialog(resumed, 'ACK');
    expect(bodyOf(resumed)).toMatch(/^a=sendrecv\r$/m);
    await until(() => !phone().muted && !producer.paused, 2000, 'unmuted, its producer resumed, after hold');

    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
  });

  it('takes DTMF in SIP INFO (dtmf-relay and dtmf), and refuses other INFO bodies with 415', async () => {
    await gateway.meetings.create({ id: 'keys' });
    peer = await SipPeer.udp(target.sipAddress);
    const caller = new SipCaller(peer, uriOf('keys'));
    const answered = await authenticatedInvite(caller, PCMU_OFFER(30008));
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    caller.inDialog(answered, 'ACK');
    const call = gateway.sip.calls.get(caller.callId)!;
    const digits: string[] = [];
    call.signaling.dtmf.on('digit', ({ digit, source }) => digits.push(`${digit}:${source}`));

    caller.inDialog(answered, 'INFO', { body: 'Signal=5\r\nDuration=160\r\n' });
    expect(firstLine((await peer.next(isResponse(200, 'INFO'))).text)).toBe('SIP/2.0 200 OK');
    caller.inDialog(answered, 'INFO', { body: '#', contentType: 'application/dtmf' });
    await peer.next(isResponse(200, 'INFO'));
    caller.inDialog(answered, 'INFO', { body: 'hello', contentType: 'text/plain' });
    const refused = await peer.next(isResponse(415, 'INFO'));
    expect(header(refused.text, 'Accept')).toBe('application/dtmf-relay, application/dtmf');
    caller.inDialog(answered, 'INFO', { body: 'Signal=Z\r\n' });
    expect(header((await peer.next(isResponse(400, 'INFO'))).text, 'Warning')).toMatch(/^399 /);
    expect(digits).toEqual(['5:sip-info', '#:sip-info']);

    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    await call.whenEnded();
    expect(gateway.sip.calls.size).toBe(0);
  });
});
