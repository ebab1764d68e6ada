/**
 * Every way a call ends goes through its one close(), seen from a raw SIP client through
 * drachtio (the stand-in, or a real drachtio-server with DRACHTIO_SERVER_BIN) and the real
 * gateway on a Redis of its own, which tests stall to hold a call in set-up: what the
 * caller receives, what is left of the call (nothing), the one summary line per call, and
 * the call's webhooks.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let target: DrachtioTarget;
let redis: PrivateRedis;
let gateway: Gateway;
/** Set once a test has shut the gateway down. */
let gatewayClosed = false;
let peer: SipPeer;
let identity: { username: string; password: string };
let webhooks: WebhookReceiver;
const logs = capturedLogger('debug');

const uriOf = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;
const summaries = (callId: string) => logs.lines().filter((line) => line.msg === 'call ended' && line.callId === callId);
/** The summary of an INVITE answered with a challenge: a call of its own, ended at once. */
const challenged = (meetingId: string) => expect.objectContaining({ meetingId, state: 'setting-up', endedBy: 'gateway', status: 401, durationMs: expect.any(Number) });

beforeAll(async () => {
  target = await drachtioTarget();
  redis = await spawnRedisServer();
  webhooks = await WebhookReceiver.start();
  gateway = await startSipTestGateway(
    target,
    { REDIS_URL: redis.url, RTP_MIN_PORT: '43800', RTP_MAX_PORT: '43899', WEBHOOK_URL: webhooks.url, WEBHOOK_SECRET: 'whsec-call-ends-0123456789' },
    logs.log,
  );
  identity = await gateway.sipCredentials.create({});
});

beforeEach(async () => {
  await peer?.close();
  peer = await SipPeer.udp(target.sipAddress);
});

afterAll(async () => {
  redis?.resume();
  await peer?.close();
  if (!gatewayClosed) await gateway?.close();
  await target?.close();
  await redis?.stop();
  await webhooks?.close();
});

/** INVITE, 401, ACK; returns the authorization for the INVITE to send next. */
async function challenge(caller: SipCaller, body?: string): Promise<string> {
  caller.invite(body === undefined ? {} : { body });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  return caller.authorization(challenge, identity);
}

async function expectNothingLeftOf(callId: string, meetingId: string): Promise<void> {
  await until(() => !gateway.sip.calls.has(callId), 2000, 'the call gone from the gateway');
  expect(await gateway.store.listCalls(meetingId)).toEqual([]);
  const room = await gateway.rooms.existing(meetingId);
  await until(() => (room?.size ?? 0) === 0, 2000, 'the phone gone from the room');
  if (room) await until(async () => (await room.router.dump()).transportIds.length === 0, 2000, 'no transport left in the room');
}

it('holds a call from its INVITE: a CANCEL while it is being set up gets 487 at once, and nothing of the call is left', async () => {
  await gateway.meetings.create({ id: 'cancel-in-setup' });
  const caller = new SipCaller(peer, uriOf('cancel-in-setup'));
  const authorization = await challenge(caller, PCMU_OFFER(30050));
  // With Redis stalled, the authenticated INVITE waits in set-up (its nonce count is checked there).
  redis.pause();
  try {
    caller.invite({ body: PCMU_OFFER(30050), authorization });
    await until(() => gateway.sip.calls.get(caller.callId)?.state === 'setting-up', 3000, 'the call held while being set up');
    caller.cancel();
    const terminated = await peer.next(isResponse(487, 'INVITE'));
    caller.ackFailure(terminated);
    // Ended while its set-up still waits on Redis.
    await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call gone from the gateway');
    expect(summaries(caller.callId)).toEqual([
      challenged('cancel-in-setup'),
      expect.objectContaining({ state: 'setting-up', endedBy: 'caller', reason: 'CANCEL', status: 487 }),
    ]);
  } finally {
    redis.resume();
  }
  // The set-up, resumed, stops at its next step: no room, no media, no record.
  await until(() => logs.lines().some((line) => line.msg === 'call set-up stopped: the call has ended' && line.callId === caller.callId), 5000, 'the set-up stopped');
  expect(await gateway.rooms.existing('cancel-in-setup')).toBeUndefined();
  expect(await gateway.store.listCalls('cancel-in-setup')).toEqual([]);
  expect(summaries(caller.callId)).toHaveLength(2);
});

it('ends as the caller\'s CANCEL, never answered, a call whose CANCEL, right behind its INVITE, crosses our 200 OK: 487, no BYE, no call.answered, no error logged, nothing left', async () => {
  await gateway.meetings.create({ id: 'cancel-crossing' });
  const caller = new SipCaller(peer, uriOf('cancel-crossing'));
  const authorization = await challenge(caller, PCMU_OFFER(30055));
  caller.invite({ body: PCMU_OFFER(30055), authorization });
  // drachtio answers it 487 before the gateway, which has heard of no CANCEL yet, sends its 200 (most often).
  caller.cancel();
  const terminated = await peer.next(isResponse(487, 'INVITE'));
  caller.ackFailure(terminated);
  await until(() => summaries(caller.callId).length === 2, 3000, 'the call\'s summary');
  // drachtio-server answered 487 before our 200 reached it: the 200 never went out, so the call was never answered.
  expect(summaries(caller.callId)[1]).toMatchObject({ state: 'setting-up', endedBy: 'caller', reason: 'CANCEL', status: 487 });
  const callEvents = () => webhooks.accepted().filter((event) => 'callId' in event.data && event.data.callId === caller.callId);
  // Delivered by the outbox's next poll through Redis, which the test before this one stalled: once
  // in a CI run on a loaded machine that took over 5 s.
  await until(() => callEvents().some((event) => event.type === 'call.ended'), 15_000, 'the call.ended webhook');
  expect(callEvents().map((event) => event.type).sort()).toEqual(['call.ended', 'call.ringing']);
  const ended = callEvents().find((event) => event.type === 'call.ended')?.data;
  expect(ended).toMatchObject({ endedBy: 'caller', reason: 'CANCEL', status: 487 });
  expect(ended).not.toHaveProperty('answeredAt');
  expect(ended).not.toHaveProperty('connectedMs');
  expect(logs.lines().filter((line) => line.callId === caller.callId && (line.level as number) >= 50)).toEqual([]);
  await expectNothingLeftOf(caller.callId, 'cancel-crossing');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(peer.received.filter((m) => isRequest('BYE')(m) && header(m.text, 'Call-ID') === caller.callId)).toEqual([]);
}, 30_000);

it('refuses with 482 a second INVITE of a call still being set up, which goes on unharmed', async () => {
  await gateway.meetings.create({ id: 'merged' });
  const caller = new SipCaller(peer, uriOf('merged'));
  const authorization = await challenge(caller, PCMU_OFFER(30060));
  redis.pause();
  try {
    caller.invite({ body: PCMU_OFFER(30060), authorization });
    await until(() => gateway.sip.calls.get(caller.callId)?.state === 'setting-up', 3000, 'the call held while being set up');
    const first = gateway.sip.calls.get(caller.callId);
    caller.invite({ body: PCMU_OFFER(30060), authorization });
    const refused = await peer.next(isResponse(482, 'INVITE'));
    caller.ackFailure(refused);
    expect(gateway.sip.calls.get(caller.callId)).toBe(first);
  } finally {
    redis.resume();
  }
  const answered = await peer.next(isFinalResponse);
  expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
  caller.inDialog(answered, 'ACK');
  caller.inDialog(answered, 'BYE');
  await peer.next(isResponse(200, 'BYE'));
  await expectNothingLeftOf(caller.callId, 'merged');
});

it('ends a call that fails after its 200 OK (the store refusing its record) with a BYE whose Reason carries Q.850 cause 127', async () => {
  await gateway.meetings.create({ id: 'record-refused' });
  const store = gateway.store;
  if (!(store instanceof RedisStore)) throw new Error('this test needs the Redis store');
  // A string where the calls hash belongs: Redis refuses the call's record (WRONGTYPE).
  const callsKey = `${store.prefix}calls`;
  await store.redis.set(callsKey, 'not a hash');
  try {
    // A late offer: the call is recorded once the ACK brings the phone's answer, after our 200.
    const caller = new SipCaller(peer, uriOf('record-refused'));
    caller.invite({ authorization: await challenge(caller) });
    const answered = await peer.next(isFinalResponse);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    caller.inDialog(answered, 'ACK', { body: PCMU_OFFER(30052) });

    const bye = await peer.next(isRequest('BYE'));
    // The store's failure stays in our log; the caller hears only that the call failed.
    expect(header(bye.text, 'Reason')).toBe('Q.850;cause=127;text="internal error"');
    expect(header(bye.text, 'Warning')).toBeUndefined();
    await until(() => !gateway.sip.calls.has(caller.callId), 2000, 'the call gone from the gateway');
    await store.redis.del(callsKey);
    await expectNothingLeftOf(caller.callId, 'record-refused');
    expect(summaries(caller.callId)).toEqual([
      challenged('record-refused'),
      expect.objectContaining({ state: 'answered', endedBy: 'gateway', reason: 'internal error', cause: 127 }),
    ]);
    const failure = logs.lines().find((line) => line.msg === 'call set-up failed' && line.callId === caller.callId);
    expect(failure).toMatchObject({ level: 50, meetingId: 'record-refused', err: expect.objectContaining({ message: expect.stringContaining('WRONGTYPE') }) });
  } finally {
    await store.redis.del(callsKey);
  }
});

it('ends a call with a Q.850 cause 16 BYE when its meeting ends', async () => {
  await gateway.meetings.create({ id: 'meeting-ends' });
  const caller = new SipCaller(peer, uriOf('meeting-ends'));
  caller.invite({ body: PCMU_OFFER(30056), authorization: await challenge(caller, PCMU_OFFER(30056)) });
  const answered = await peer.next(isFinalResponse);
  caller.inDialog(answered, 'ACK');
  await until(async () => (await gateway.store.listCalls('meeting-ends')).length === 1, 2000, 'the call recorded');

  await gateway.meetings.end('meeting-ends');
  const bye = await peer.next(isRequest('BYE'));
  expect(header(bye.text, 'Reason')).toMatch(/^Q\.850;cause=16;text="[^"]+"$/);
  await expectNothingLeftOf(caller.callId, 'meeting-ends');
  expect(summaries(caller.callId)).toEqual([challenged('meeting-ends'), expect.objectContaining({ state: 'answered', endedBy: 'gateway', cause: 16 })]);
});

// Last: it shuts the gateway down.
it('shutdown ends every call: a BYE with Q.850 cause 16 to an answered one, 503 to one still being set up', async () => {
  await gateway.meetings.create({ id: 'shutdown' });
  const answeredCaller = new SipCaller(peer, uriOf('shutdown'));
  answeredCaller.invite({ body: PCMU_OFFER(30054), authorization: await challenge(answeredCaller, PCMU_OFFER(30054)) });
  const answered = await peer.next(isFinalResponse);
  expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
  answeredCaller.inDialog(answered, 'ACK');
  await until(async () => (await gateway.store.listCalls('shutdown')).length === 1, 2000, 'the answered call recorded');

  const settingUpCaller = new SipCaller(peer, uriOf('shutdown'));
  const authorization = await challenge(settingUpCaller, PCMU_OFFER(30058));
  redis.pause();
  let closing: Promise<void> | undefined;
  try {
    settingUpCaller.invite({ body: PCMU_OFFER(30058), authorization });
    await until(() => gateway.sip.calls.get(settingUpCaller.callId)?.state === 'setting-up', 3000, 'the second call held while being set up');
    closing = gateway.close();
    gatewayClosed = true;
    const bye = await peer.next(isRequest('BYE'));
    expect(header(bye.text, 'Call-ID')).toBe(answeredCaller.callId);
    expect(header(bye.text, 'Reason')).toBe('Q.850;cause=16;text="gateway shutting down"');
    const refused = await peer.next(isResponse(503, 'INVITE'));
    settingUpCaller.ackFailure(refused);
    expect(firstLine(refused.text)).toBe('SIP/2.0 503 Service Unavailable');
    expect(header(refused.text, 'Warning')).toBe('399 127.0.0.1 "gateway shutting down"');
  } finally {
    redis.resume();
  }
  await closing;
  expect(gateway.sip.calls.size).toBe(0);
  expect(summaries(answeredCaller.callId)).toEqual([
    challenged('shutdown'),
    expect.objectContaining({ state: 'answered', endedBy: 'gateway', reason: 'gateway shutting down', cause: 16 }),
  ]);
  expect(summaries(settingUpCaller.callId)).toEqual([
    challenged('shutdown'),
    expect.objectContaining({ state: 'setting-up', endedBy: 'gateway', reason: 'gateway shutting down', status: 503 }),
  ]);
});
