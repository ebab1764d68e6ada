/**
 * Redis killed and restarted on the same port under live calls, with the real processes:
 * redis-server, a mediasoup worker, drachtio (the stand-in, or the real drachtio-server
 * when DRACHTIO_SERVER_BIN is set) and SIP callers talking RTP.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { header } from '../support/sip/sip-message.js';
import { until } from '../support/until.js';

const calls: RtpCall[] = [];
const closers: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  await Promise.all(calls.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

interface Setup {
  readonly target: DrachtioTarget;
  readonly redis: PrivateRedis;
  readonly redisClient: Redis;
  readonly gateway: Gateway;
  readonly identity: { username: string; password: string };
}

async function setUp(meetingId: string, redisOptions: { persistent: boolean }, rtpPorts: [number, number]): Promise<Setup> {
  const target = await drachtioTarget();
  closers.push(() => target.close());
  const redis = await spawnRedisServer(redisOptions);
  closers.push(() => redis.stop());
  // maxRetriesPerRequest null: the test's own reads wait for Redis to come back.
  const redisClient = new Redis(redis.url, { maxRetriesPerRequest: null });
  redisClient.on('error', () => undefined);
  closers.push(() => redisClient.disconnect());
  const gateway = await startSipTestGateway(target, { REDIS_URL: redis.url, RTP_MIN_PORT: String(rtpPorts[0]), RTP_MAX_PORT: String(rtpPorts[1]) });
  closers.push(() => gateway.close());
  await requestJson(`${gateway.httpUrl}/api`, 'POST', '/meetings', { id: meetingId });
  const identity = await requestJson<{ username: string; password: string }>(`${gateway.httpUrl}/api`, 'POST', '/sip-credentials', { meetingId });
  return { target, redis, redisClient, gateway, identity };
}

async function dial(setup: Setup, meetingId: string): Promise<RtpCall> {
  const call = await RtpCall.dial(setup.target.sipAddress, meetingId, setup.identity);
  calls.push(call);
  return call;
}

async function readiness(gateway: Gateway): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await fetch(`${gateway.httpUrl}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, string> }).checks };
}

/**
 * Audio flows both ways for the next second: the phone hears the meeting and the gateway
 * hears the phone (its media thread; mediasoup gets a phone's audio only while a browser
 * listens, and none is in these meetings).
 */
async function expectAudioBothWays(gateway: Gateway, call: RtpCall): Promise<void> {
  const media = gateway.sip.calls.get(call.callId)!.media!;
  // No statistics before the phone's first packets: a just-answered call may not have them yet.
  const heard = async () => (await media.quality())?.received?.packets ?? 0;
  const heardBefore = await heard();
  const from = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(call.packetsSince(from), 'packets the phone heard in 1 s').toBeGreaterThan(40);
  expect((await heard()) - heardBefore, 'packets of the phone the gateway got in 1 s').toBeGreaterThan(40);
}

const callIds = async (redisClient: Redis) => (await redisClient.hkeys('gw:calls')).sort();

describe('Redis restarted under live calls', () => {
  it('keeps the calls\' audio, refuses new calls with 503 while it is down, answers them again once it is back, and loses or leaves no record', { timeout: 60_000 }, async () => {
    const meetingId = 'redis-restart';
    const setup = await setUp(meetingId, { persistent: true }, [44200, 44399]);
    const { gateway, redis, redisClient } = setup;
    const staying = await dial(setup, meetingId);
    const leaving = await dial(setup, meetingId);
    expect([staying.statusLine, leaving.statusLine]).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
    // A call is recorded once it is up, at its ACK, which the caller sends right after the 200.
    await until(async () => (await callIds(redisClient)).length === 2, 2000, 'both calls recorded');
    expect(await callIds(redisClient)).toEqual([staying.callId, leaving.callId].sort());

    await redis.kill();
    await until(async () => (await readiness(gateway)).status === 503, 5000, '/readyz to report the store down');
    expect((await readiness(gateway)).checks.store).toMatch(/unavailable/);

    await expectAudioBothWays(gateway, staying);
    const refused = await dial(setup, meetingId);
    expect(refused.statusLine).toBe('SIP/2.0 503 Service Unavailable');
    expect(header(refused.final!.text, 'Warning')).toMatch(/^399 \S+ "the store \(Redis\) is unavailable: /);
    // A call that ends while Redis is away: its record cannot be removed yet.
    await leaving.hangUp();
    await until(() => !gateway.sip.calls.has(leaving.callId), 2000, 'the hung-up call gone from the gateway');
    await expectAudioBothWays(gateway, staying);

    await redis.restart();
    const backAt = performance.now();
    await until(async () => (await readiness(gateway)).status === 200, 5000, '/readyz to report the store back');
    const next = await dial(setup, meetingId);
    expect(next.statusLine).toBe('SIP/2.0 200 OK');
    expect(performance.now() - backAt).toBeLessThan(5000);
    await expectAudioBothWays(gateway, staying);

    // The live calls are recorded, the call that ended while Redis was away is not.
    await until(async () => (await callIds(redisClient)).length === 2, 3000, 'the ended call\'s record removed');
    expect(await callIds(redisClient)).toEqual([staying.callId, next.callId].sort());
    const participants = await redisClient.hvals(`gw:participants:${meetingId}`);
    expect(participants).toHaveLength(2);

    await staying.hangUp();
    await next.hangUp();
    await until(async () => (await callIds(redisClient)).length === 0, 2000, 'no call record left');
    await until(async () => (await redisClient.hlen(`gw:participants:${meetingId}`)) === 0, 2000, 'no participant record left');
  });

  it('writes the live calls again when Redis comes back empty (restarted without persistence)', { timeout: 60_000 }, async () => {
    const meetingId = 'redis-empty';
    const setup = await setUp(meetingId, { persistent: false }, [44400, 44599]);
    const { gateway, redis, redisClient } = setup;
    const live = await dial(setup, meetingId);
    expect(live.statusLine).toBe('SIP/2.0 200 OK');
    await until(async () => (await callIds(redisClient)).length === 1, 2000, 'the call recorded at its ACK');

    await redis.kill();
    await until(async () => (await readiness(gateway)).status === 503, 5000, '/readyz to report the store down');
    await redis.restart();
    await until(async () => (await callIds(redisClient)).length === 1, 5000, 'the live call recorded again');
    expect(await callIds(redisClient)).toEqual([live.callId]);
    expect(await redisClient.hlen(`gw:participants:${meetingId}`)).toBe(1);
    await expectAudioBothWays(gateway, live);

    await live.hangUp();
    await until(async () => (await callIds(redisClient)).length === 0, 2000, 'no call record left');
  });
});
