/**
 * The SIP guard behind the real Kamailio (config/kamailio/kamailio.cfg) with the front named
 * in SIP_FRONT_SOURCES, on one gateway node over its drachtio (the stand-in, or the real
 * drachtio-server with DRACHTIO_SERVER_BIN): a caller guessing passwords through the front is
 * banned by its own address (the Via the front received it on), in the API and the log, and
 * the front is not, so another caller through it is answered. The two-node version of this
 * runs in sip-front-kamailio.test.ts (stand-in only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { freeSipPort } from '../bench/support/gateway-process.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import type { HostPort } from '../support/sip/drachtio-target.js';
import { type Kamailio, startKamailio } from '../support/sip/kamailio.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse } from '../support/sip/sip-peer.js';

const FRONT_HOST = '127.0.0.10';
/** The guesser calls from an address of its own; the other phone from 127.0.0.1. */
const GUESSER_HOST = '127.0.0.21';

let target: DrachtioTarget;
let gateway: Gateway;
let front: Kamailio;
let frontSip: HostPort;
const capture = capturedLogger('info');

beforeAll(async () => {
  target = await drachtioTarget({ sipHost: '127.0.0.11' });
  // The product's SIP_AUTH_MAX_FAILURES (the tests' configuration lifts it).
  gateway = await startSipTestGateway(target, { SIP_DOMAIN: FRONT_HOST, SIP_FRONT_SOURCES: `${FRONT_HOST}/32`, SIP_AUTH_MAX_FAILURES: '5' }, capture.log);
  frontSip = { host: FRONT_HOST, port: await freeSipPort() };
  front = await startKamailio({ sip: frontSip, nodes: [target.sipAddress], probeIntervalSeconds: 1, inviteTimeoutMs: 1500 });
}, 60_000);

afterAll(async () => {
  await front?.stop();
  await gateway?.close();
  await target?.close();
}, 30_000);

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

async function newMeeting(meetingId: string): Promise<{ username: string; password: string }> {
  await api('POST', '/meetings', { id: meetingId });
  return api('POST', '/sip-credentials', { meetingId });
}

/** One INVITE through the front, challenged and answered with `identity`; the final answer to it. */
async function callThroughFront(peer: SipPeer, meetingId: string, identity: { username: string; password: string }): Promise<{ caller: SipCaller; final: ReceivedSip }> {
  const caller = new SipCaller(peer, `sip:${meetingId}@${frontSip.host}:${frontSip.port}`);
  const ofCall = (m: ReceivedSip) => header(m.text, 'Call-ID') === caller.callId && isFinalResponse(m);
  caller.invite({ body: PCMU_OFFER(30_000) });
  const challenge = await peer.next(ofCall, 10_000);
  expect(firstLine(challenge.text)).toBe('SIP/2.0 401 Unauthorized');
  caller.ackFailure(challenge);
  caller.invite({ body: PCMU_OFFER(30_000), authorization: caller.authorization(challenge, identity) });
  const final = await peer.next(ofCall, 10_000);
  if (final.text.startsWith('SIP/2.0 2')) caller.inDialog(final, 'ACK');
  else caller.ackFailure(final);
  return { caller, final };
}

describe('the SIP guard behind Kamailio (SIP_FRONT_SOURCES)', () => {
  it('bans a caller guessing passwords through the front by its own address, not the front\'s; another caller through the front is answered', { timeout: 60_000 }, async () => {
    const guesser = await SipPeer.udp(frontSip, GUESSER_HOST);
    const phone = await SipPeer.udp(frontSip);
    try {
      const identity = await newMeeting('front-guard-1');
      for (let i = 0; i < 5; i++) {
        const { final } = await callThroughFront(guesser, 'front-guard-1', { username: identity.username, password: 'not-the-password' });
        expect(firstLine(final.text)).toBe('SIP/2.0 403 Wrong Credentials');
      }
      const bans = (await api<{ bans: Array<{ address: string }> }>('GET', '/sip/bans')).bans.map((ban) => ban.address);
      expect(bans).toEqual([GUESSER_HOST]);
      const banned = capture.lines().filter((line) => line.msg === 'SIP source banned');
      expect(banned.map((line) => line.address)).toEqual([GUESSER_HOST]);

      // The banned guesser's next INVITE gets no final answer; the other phone's call is answered.
      const next = new SipCaller(guesser, `sip:front-guard-1@${frontSip.host}:${frontSip.port}`);
      next.invite();
      await expect(guesser.next((m) => header(m.text, 'Call-ID') === next.callId && isFinalResponse(m), 3000)).rejects.toThrow();
      const other = await newMeeting('front-guard-2');
      const { caller, final } = await callThroughFront(phone, 'front-guard-2', other);
      expect(firstLine(final.text)).toBe('SIP/2.0 200 OK');
      caller.inDialog(final, 'BYE');
      const bye = await phone.next((m) => header(m.text, 'Call-ID') === caller.callId && isFinalResponse(m), 10_000);
      expect(firstLine(bye.text)).toBe('SIP/2.0 200 OK');
    } finally {
      await guesser.close();
      await phone.close();
    }
  });
});
