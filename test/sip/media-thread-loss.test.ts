/**
 * A call whose media thread dies is ended, not left silent: the gateway (MEDIA_THREADS=2)
 * sends a BYE whose Reason is Q.850 cause 41 (temporary failure), replaces the thread, and
 * the next call to the meeting is answered and carried on the new one. Through drachtio
 * (the stand-in, or a real drachtio-server when TEST_DRACHTIO_* is set).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { MediaThread } from '../../src/media/plane/media-thread.js';
import { startSipTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let gateway: Gateway;
let peer: SipPeer;
let identity: { username: string; password: string };

const uriOf = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { MEDIA_THREADS: '2', RTP_MIN_PORT: '45000', RTP_MAX_PORT: '45199' });
  identity = await gateway.sipCredentials.create({});
});

afterEach(async () => {
  await peer?.close();
});

afterAll(async () => {
  await gateway.close();
  await target.close();
});

/** An answered (and ACKed) call to `meetingId`. */
async function answeredCall(meetingId: string, rtpPort: number): Promise<{ caller: SipCaller; answer: ReceivedSip }> {
  const caller = new SipCaller(peer, uriOf(meetingId));
  caller.invite({ body: PCMU_OFFER(rtpPort) });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  caller.invite({ body: PCMU_OFFER(rtpPort), authorization: caller.authorization(challenge, identity) });
  const answer = await peer.next(isFinalResponse);
  expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
  caller.inDialog(answer, 'ACK');
  // Up once the ACK is in: the caller has joined the meeting and the call is recorded.
  await until(async () => (await gateway.store.listCalls(meetingId)).some((call) => call.callId === caller.callId), 3000, 'the call up');
  return { caller, answer };
}

async function mediaThreadOf(meetingId: string): Promise<MediaThread> {
  const room = (await gateway.rooms.existing(meetingId))!;
  const { media, release } = await room.phoneMedia();
  release();
  return media.thread;
}

describe('a media thread that dies', () => {
  it('ends each call on it with a BYE carrying Reason: Q.850;cause=41, and the next call runs on its replacement', { timeout: 30_000 }, async () => {
    expect(gateway.mediaPlane.size).toBe(2);
    await gateway.meetings.create({ id: 'fragile' });
    peer = await SipPeer.udp(target.sipAddress);
    const { caller } = await answeredCall('fragile', 30100);
    const thread = await mediaThreadOf('fragile');

    await thread.request('crash', {}).catch(() => undefined);
    const bye = await peer.next(isRequest('BYE'));
    expect(header(bye.text, 'Reason')).toMatch(/^Q\.850;cause=41;text="/);
    await until(() => !gateway.sip.calls.has(caller.callId), 3000, 'the call ended');
    expect(await gateway.store.listCalls('fragile')).toEqual([]);

    const replacement = gateway.mediaPlane.thread(thread.index);
    expect(replacement).not.toBe(thread);
    const next = await answeredCall('fragile', 30102);
    expect(gateway.sip.calls.has(next.caller.callId)).toBe(true);
    expect((await mediaThreadOf('fragile')).isLost).toBe(false);
    const room = (await gateway.rooms.existing('fragile'))!;
    await until(async () => (await room.mixerCounts())?.legs === 1, 3000, 'the new call\'s leg in the mixer');
    next.caller.inDialog(next.answer, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
  });
});
