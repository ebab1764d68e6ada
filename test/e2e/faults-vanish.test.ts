/**
 * A browser and a phone that vanish mid-call leave nothing behind, with the real
 * processes: Chromium, a mediasoup worker, redis-server, drachtio (the stand-in, or the
 * real drachtio-server when DRACHTIO_SERVER_BIN is set) and a SIP caller talking RTP.
 * "Nothing" is counted where it lives: mediasoup's own dump of the meeting's router
 * (transports, producers, consumers), the phone's UDP port, the Redis keys, /api, and
 * the timers the gateway started.
 */
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { openMeetingPage, waitForMeetingState, waitForRemoteAudio } from '../support/browser/meeting-page.js';
import { startSipTestGateway } from '../support/gateway.js';
import { udpPortFree } from '../support/free-port.js';
import { requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { header } from '../support/sip/sip-message.js';
import { startTimerCensus } from '../support/timer-census.js';
import { until } from '../support/until.js';

/** A tone no other test's browser plays, so its process can be found (and killed) by it. */
const BROWSER_HZ = 733;

let target: DrachtioTarget;
let redis: PrivateRedis;
let redisClient: Redis;
let gateway: Gateway;
let browser: LaunchedChromium | undefined;
const calls: RtpCall[] = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  target = await drachtioTarget();
  redis = await spawnRedisServer();
  redisClient = new Redis(redis.url);
  gateway = await startSipTestGateway(target, { REDIS_URL: redis.url, RTP_MIN_PORT: '44600', RTP_MAX_PORT: '44799', EMPTY_ROOM_GRACE_SECONDS: '600', RTP_TIMEOUT_SECONDS: '2' });
}, 60_000);

afterEach(async () => {
  await Promise.all(calls.splice(0).map((c) => c.close()));
  await browser?.close();
  browser = undefined;
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  redisClient?.disconnect();
  await redis?.stop();
});

/** What mediasoup holds for the meeting: transports, producers and consumers, by id. */
async function routerHoldings(meetingId: string) {
  const room = (await gateway.rooms.existing(meetingId))!;
  const dump = await room.router.dump();
  return {
    transports: [...dump.transportIds].sort(),
    producers: dump.mapProducerIdConsumerIds.map((entry) => entry.key).sort(),
    consumers: dump.mapConsumerIdProducerId.map((entry) => entry.key).sort(),
  };
}

/** Timers of drachtio's side of the wire (the in-process stand-in) and of the test's own phone are not the gateway's. */
const NOT_THE_GATEWAYS = /drachtio-standin|\/test\/support\/|deps\/undici/;

/** Waits (briefly: a mixer's clock stops on its next tick) until the gateway's pending timers are those expected. */
async function expectGatewayTimers(timers: ReturnType<typeof startTimerCensus>, expected: RegExp[]): Promise<void> {
  const matches = () => {
    const pending = timers.pending(NOT_THE_GATEWAYS);
    return pending.length === expected.length && expected.every((site, i) => site.test(pending[i]!));
  };
  await until(matches, 1000, 'the gateway\'s timers').catch(() => undefined);
  expect(timers.pending(NOT_THE_GATEWAYS)).toEqual(expected.map((site) => expect.stringMatching(site)));
}

async function phoneIn(meetingId: string) {
  const identity = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
  const call = await RtpCall.dial(target.sipAddress, meetingId, identity);
  calls.push(call);
  expect(call.statusLine).toBe('SIP/2.0 200 OK');
  await until(() => call.packetsSince(0) > 10, 3000, 'the phone hearing the meeting');
  return call;
}

describe('a browser that vanishes mid-call', () => {
  it('leaves no transport, producer, consumer, timer, participant or store key behind', { timeout: 60_000 }, async () => {
    const meetingId = 'vanish-browser';
    await api('POST', '/meetings', { id: meetingId });
    const call = await phoneIn(meetingId);
    // Settled before the browser comes: the phone's own media and the mixer's.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await routerHoldings(meetingId);
    const timers = startTimerCensus();

    browser = await launchChromium({ toneHz: BROWSER_HZ });
    const page = await browser.newPage();
    await openMeetingPage(page, gateway.httpUrl, meetingId, 'Vanishing');
    await waitForMeetingState(page, 'joined');
    await waitForRemoteAudio(page, 1, 15_000);
    const during = await routerHoldings(meetingId);
    expect(during.transports.length).toBeGreaterThan(before.transports.length);
    expect(during.consumers.length).toBeGreaterThan(before.consumers.length);
    expect(await redisClient.hlen(`gw:participants:${meetingId}`)).toBe(2);

    // SIGKILL: no leave, no WebSocket close frame, no DTLS close alert.
    const pid = Number(execFileSync('pgrep', ['-o', '-f', `tone-${BROWSER_HZ}hz.wav`]).toString().trim());
    process.kill(pid, 'SIGKILL');

    await until(async () => (await redisClient.hlen(`gw:participants:${meetingId}`)) === 1, 15_000, 'the browser\'s participant key removed');
    await until(async () => JSON.stringify(await routerHoldings(meetingId)) === JSON.stringify(before), 5000, 'the browser\'s media released');
    const participants = (await api<{ participants: { kind: string }[] }>('GET', `/meetings/${meetingId}`)).participants;
    expect(participants.map((p) => p.kind)).toEqual(['phone']);
    // Nothing left on the main thread (the mixer's clock ticks for the phone in its media thread).
    await expectGatewayTimers(timers, []);
    // The phone still hears the meeting.
    const from = performance.now();
    await until(() => call.packetsSince(from) > 10, 3000, 'the phone still hearing the meeting');
    await call.hangUp();
    const room = (await gateway.rooms.existing(meetingId))!;
    await until(() => room.size === 0, 2000, 'the phone gone from the room');
    await until(async () => (await room.mixerCounts()) === undefined, 2000, 'the mixer closed');
    await until(async () => (await routerHoldings(meetingId)).transports.length === 0, 2000, `no transport left (${JSON.stringify(await routerHoldings(meetingId))})`);
    await expectGatewayTimers(timers, [/scheduleIdleClose/]);
    timers.stop();
  });
});

describe('a phone that vanishes mid-call', () => {
  it('is ended by the RTP timeout with a BYE (Q.850 cause 102), and leaves no port, transport, producer, consumer, timer, participant or store key behind', { timeout: 60_000 }, async () => {
    const meetingId = 'vanish-phone';
    await api('POST', '/meetings', { id: meetingId });
    // The room opened before the phone came: what it holds with nobody in it.
    const room = await gateway.rooms.room(meetingId);
    const empty = await routerHoldings(meetingId);
    const timers = startTimerCensus();

    const call = await phoneIn(meetingId);
    expect(await redisClient.hexists('gw:calls', call.callId)).toBe(1);
    expect((await routerHoldings(meetingId)).transports.length).toBeGreaterThan(empty.transports.length);

    // The phone goes silent without a BYE: its RTP socket is gone. RTP_TIMEOUT_SECONDS=2 ends the call.
    const silentFrom = performance.now();
    call.vanish();
    const bye = await call.byeFromGateway(5000);
    expect(performance.now() - silentFrom).toBeGreaterThanOrEqual(1900);
    expect(header(bye.text, 'Reason')).toBe('Q.850;cause=102;text="no RTP or RTCP from the phone for 2 s"');

    // The BYE goes out first; the media thread closes the port right behind it.
    await until(() => udpPortFree(call.gatewayRtpPort), 2000, 'the call\'s RTP port released');
    await until(async () => JSON.stringify(await routerHoldings(meetingId)) === JSON.stringify(empty), 5000, 'the phone\'s media released');
    expect(room.size).toBe(0);
    expect(await room.mixerCounts()).toBeUndefined();
    expect(await redisClient.hexists('gw:calls', call.callId)).toBe(0);
    expect(await redisClient.hlen(`gw:participants:${meetingId}`)).toBe(0);
    expect((await api<{ participants: unknown[] }>('GET', `/meetings/${meetingId}`)).participants).toEqual([]);
    // Left: the empty room's own grace timer, as before the phone came.
    await expectGatewayTimers(timers, [/scheduleIdleClose/]);
    timers.stop();
  });
});
