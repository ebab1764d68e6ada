/**
 * How a phone call's SIP leg ends, as the call's summary log line tells it, through
 * drachtio (the stand-in on fast SIP timers, or a real drachtio-server on its own
 * 32-second ACK timeout).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { SipPeer, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

/** The stand-in's T1: its ACK timeout is 64·T1. A real server keeps RFC 3261's 500 ms (32 s). */
const STANDIN_T1_MS = 50;
const ACK_TIMEOUT_MS = 64 * (usingRealDrachtio() ? 500 : STANDIN_T1_MS);

let target: DrachtioTarget;
let gateway: Gateway;
const logs = capturedLogger('info');

beforeAll(async () => {
  target = await drachtioTarget({ timers: { values: { t1: STANDIN_T1_MS } } });
  // The caller sends no RTP: the RTP timeout (30 s by default) must not end the call before drachtio-server's 32 s ACK timeout does.
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '43700', RTP_MAX_PORT: '43799', RTP_TIMEOUT_SECONDS: '0' }, logs.log);
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

it(
  'a 200 OK never ACKed is ended by drachtio with "ACK timeout", and the call ends logged as such, not as the caller\'s BYE',
  async () => {
    await gateway.meetings.create({ id: 'no-ack' });
    const identity = await gateway.sipCredentials.create({});
    const peer = await SipPeer.udp(target.sipAddress);
    try {
      const caller = new SipCaller(peer, `sip:no-ack@${target.sipAddress.host}:${target.sipAddress.port}`);
      caller.invite({ body: PCMU_OFFER(30030) });
      const challenge = await peer.next(isResponse(401));
      caller.ackFailure(challenge);
      caller.invite({ body: PCMU_OFFER(30030), authorization: caller.authorization(challenge, identity) });
      expect(firstLine((await peer.next(isResponse(200, 'INVITE'))).text)).toBe('SIP/2.0 200 OK');

      const bye = await peer.next(isRequest('BYE'), ACK_TIMEOUT_MS + 5000);
      expect(header(bye.text, 'Reason')).toMatch(/text="ACK timeout"/);
      await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call ended');
      expect(await gateway.store.listCalls('no-ack')).toEqual([]);
      // One summary line per INVITE taken up: the challenged one, then the answered one.
      const ended = logs.lines().filter((line) => line.msg === 'call ended' && line.callId === caller.callId);
      expect(ended).toEqual([
        expect.objectContaining({ state: 'setting-up', endedBy: 'gateway', status: 401, meetingId: 'no-ack' }),
        expect.objectContaining({ state: 'answered', endedBy: 'drachtio', reason: 'ACK timeout', meetingId: 'no-ack' }),
      ]);
    } finally {
      await peer.close();
    }
  },
  ACK_TIMEOUT_MS + 15_000,
);
