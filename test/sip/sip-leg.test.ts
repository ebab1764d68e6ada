/**
 * How a phone call's SIP leg ends, as the call's summary log line tells it, through
 * drachtio (the stand-in on fast SIP timers, or a real drachtio-server on its own
 * 32-second ACK timeout, or else the gateway's own): a set-up never ACKed holds no meeting
 * place and no RTP port once it has timed out, and the INVITEs of an attack (challenged, guessed wrong) are logged at
 * debug, not info. The UDP and TCP cases run concurrently (each its own meeting, peer and
 * calls), so a real server's 32 s ACK timeout passes once for the file, not twice.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { udpPortFree } from '../support/free-port.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { type SipRequest, firstLine, header, parseSipMessage, responseTo } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

/** The stand-in's T1: its ACK timeout is 64·T1. A real server keeps RFC 3261's 500 ms (32 s). */
const STANDIN_T1_MS = 50;
const ACK_TIMEOUT_MS = 64 * (usingRealDrachtio() ? 500 : STANDIN_T1_MS);
const PINO_INFO = 30;
const PINO_ERROR = 50;

let target: DrachtioTarget;
let gateway: Gateway;
const logs = capturedLogger('debug');

beforeAll(async () => {
  target = await drachtioTarget({ timers: { values: { t1: STANDIN_T1_MS } } });
  // The caller sends no RTP: the RTP timeout (30 s by default) must not end the call before drachtio-server's 32 s ACK timeout does.
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '43700', RTP_MAX_PORT: '43799', RTP_TIMEOUT_SECONDS: '0' }, logs.log);
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

const uriOf = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;
const linesOf = (callId: string) => logs.lines().filter((line) => line.callId === callId);

/** Challenged, then answered with the right credentials: the gateway's final response. */
async function authenticatedInvite(peer: SipPeer, caller: SipCaller, identity: { username: string; password: string }, body?: string): Promise<ReceivedSip> {
  const sdp = body === undefined ? {} : { body };
  caller.invite(sdp);
  const challenge = await peer.next((m) => isResponse(401)(m) && header(m.text, 'Call-ID') === caller.callId);
  caller.ackFailure(challenge);
  caller.invite({ ...sdp, authorization: caller.authorization(challenge, identity) });
  return peer.next((m) => isFinalResponse(m) && header(m.text, 'Call-ID') === caller.callId);
}


const audioPortOf = (answer: ReceivedSip) => Number(/^m=audio (\d+) /m.exec(answer.text)?.[1]);

it.concurrent(
  'a 200 OK never ACKed (an offer in the INVITE, or none) is ended by drachtio with "ACK timeout": no place taken, no participant seen, the port freed, one info line',
  async ({ expect }) => {
    await gateway.meetings.create({ id: 'no-ack' });
    const identity = await gateway.sipCredentials.create({});
    const peer = await SipPeer.udp(target.sipAddress);
    try {
      // svcrack's winning INVITE carries no SDP; a softphone's carries an offer. Both at once, so a real server's 32 s pass once.
      const early = new SipCaller(peer, uriOf('no-ack'));
      const late = new SipCaller(peer, uriOf('no-ack'));
      const [earlyAnswer, lateAnswer] = await Promise.all([
        authenticatedInvite(peer, early, identity, PCMU_OFFER(30030)),
        authenticatedInvite(peer, late, identity),
      ]);
      expect(firstLine(earlyAnswer.text)).toBe('SIP/2.0 200 OK');
      expect(firstLine(lateAnswer.text)).toBe('SIP/2.0 200 OK');
      const ports = [audioPortOf(earlyAnswer), audioPortOf(lateAnswer)];

      // Answered but not up: the meeting has no one in it, the store no participant and no call.
      const room = await gateway.rooms.existing('no-ack');
      expect(room?.size ?? 0).toBe(0);
      expect(await gateway.store.listParticipants('no-ack')).toEqual([]);
      expect(await gateway.store.listCalls('no-ack')).toEqual([]);

      for (const caller of [early, late]) {
        const bye = await peer.next((m) => isRequest('BYE')(m) && header(m.text, 'Call-ID') === caller.callId, ACK_TIMEOUT_MS + 5000);
        expect(header(bye.text, 'Reason')).toMatch(/text="ACK timeout"/);
        await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call ended');
      }
      for (const port of ports) await until(() => udpPortFree(port), 2000, `RTP port ${port} freed`);
      expect(await gateway.store.listParticipants('no-ack')).toEqual([]);
      expect(await gateway.store.listCalls('no-ack')).toEqual([]);
      expect(logs.lines().filter((line) => line.msg === 'participant joined' && line.meetingId === 'no-ack')).toEqual([]);

      for (const caller of [early, late]) {
        const lines = linesOf(caller.callId);
        expect(lines.filter((line) => Number(line.level) >= PINO_ERROR)).toEqual([]);
        // One summary line at info per INVITE taken up: the challenged one is debug, the answered one info.
        const ended = lines.filter((line) => line.msg === 'call ended' && Number(line.level) >= PINO_INFO);
        expect(ended).toEqual([expect.objectContaining({ state: 'answered', endedBy: 'drachtio', reason: 'ACK timeout', meetingId: 'no-ack' })]);
      }
    } finally {
      await peer.close();
    }
  },
  ACK_TIMEOUT_MS + 20_000,
);

/** Over TCP drachtio-server (and so the stand-in) times out the ACK as over UDP, before the gateway's own timeout would. */
it.concurrent(
  'over TCP a 200 OK never ACKed ends too, by drachtio-server\'s ACK timeout: the port freed, one info line',
  async ({ expect }) => {
    await gateway.meetings.create({ id: 'no-ack-tcp' });
    const identity = await gateway.sipCredentials.create({});
    const peer = await SipPeer.tcp(target.sipAddress);
    try {
      const caller = new SipCaller(peer, uriOf('no-ack-tcp'));
      const answer = await authenticatedInvite(peer, caller, identity);
      expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
      const bye = await peer.next((m) => isRequest('BYE')(m) && header(m.text, 'Call-ID') === caller.callId, ACK_TIMEOUT_MS + 5000);
      peer.send(responseTo(parseSipMessage(bye.text) as SipRequest, 200, 'OK'));
      expect(header(bye.text, 'Reason')).toMatch(/text="ACK timeout"/);
      await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call ended');
      await until(() => udpPortFree(audioPortOf(answer)), 2000, 'the RTP port freed');
      expect((await gateway.rooms.existing('no-ack-tcp'))?.size ?? 0).toBe(0);

      const lines = linesOf(caller.callId);
      expect(lines.filter((line) => Number(line.level) >= PINO_ERROR)).toEqual([]);
      expect(lines.filter((line) => line.msg === 'call ended' && Number(line.level) >= PINO_INFO)).toEqual([
        expect.objectContaining({ state: 'answered', meetingId: 'no-ack-tcp', endedBy: 'drachtio', reason: 'ACK timeout' }),
      ]);
    } finally {
      await peer.close();
    }
  },
  ACK_TIMEOUT_MS + 20_000,
);

it('logs a challenged INVITE and a wrong guess at debug: neither adds an info line', async () => {
  await gateway.meetings.create({ id: 'guessed' });
  const identity = await gateway.sipCredentials.create({});
  const peer = await SipPeer.udp(target.sipAddress);
  try {
    const caller = new SipCaller(peer, uriOf('guessed'));
    caller.invite({ body: PCMU_OFFER(30032) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    caller.invite({ body: PCMU_OFFER(30032), authorization: caller.authorization(challenge, { ...identity, password: 'a-wrong-guess' }) });
    const refused = await peer.next(isFinalResponse);
    caller.ackFailure(refused);
    expect(firstLine(refused.text)).toBe('SIP/2.0 403 Wrong Credentials');
    await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call ended');

    const lines = linesOf(caller.callId);
    expect(lines.filter((line) => line.msg === 'call ended')).toEqual([
      expect.objectContaining({ level: 20, state: 'setting-up', status: 401 }),
      expect.objectContaining({ level: 20, state: 'setting-up', status: 403 }),
    ]);
    expect(lines.filter((line) => Number(line.level) >= PINO_INFO)).toEqual([]);
  } finally {
    await peer.close();
  }
});
