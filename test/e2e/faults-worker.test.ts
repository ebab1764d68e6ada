/**
 * A mediasoup worker killed (SIGKILL) under a live call, with the real processes: the
 * worker, a redis-server, drachtio (the stand-in, or the real drachtio-server when
 * DRACHTIO_SERVER_BIN is set) and a SIP caller talking RTP.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { header } from '../support/sip/sip-message.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let redis: PrivateRedis;
let redisClient: Redis;
let gateway: Gateway;
const calls: RtpCall[] = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  target = await drachtioTarget();
  redis = await spawnRedisServer();
  redisClient = new Redis(redis.url);
  gateway = await startSipTestGateway(target, { REDIS_URL: redis.url, RTP_MIN_PORT: '44000', RTP_MAX_PORT: '44199' });
}, 60_000);

afterEach(async () => {
  await Promise.all(calls.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  redisClient?.disconnect();
  await redis?.stop();
});

async function dial(meetingId: string, identity: { username: string; password: string }): Promise<RtpCall> {
  const call = await RtpCall.dial(target.sipAddress, meetingId, identity);
  calls.push(call);
  return call;
}

describe('a mediasoup worker killed under a live call', () => {
  it('ends the call with a BYE within 2 s, forgets it everywhere, and answers the next call on the replacement worker', { timeout: 30_000 }, async () => {
    const meetingId = 'worker-crash';
    await api('POST', '/meetings', { id: meetingId });
    const identity = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
    const call = await dial(meetingId, identity);
    expect(call.statusLine).toBe('SIP/2.0 200 OK');
    await until(() => call.packetsSince(0) > 10, 3000, 'the meeting heard by the phone');
    expect(await redisClient.hexists('gw:calls', call.callId)).toBe(1);
    expect((await api<{ participants: { kind: string }[] }>('GET', `/meetings/${meetingId}`)).participants).toMatchObject([{ kind: 'phone' }]);

    const [worker] = gateway.workers.workers;
    const killedAt = performance.now();
    process.kill(worker!.pid, 'SIGKILL');

    const bye = await call.byeFromGateway(2000);
    expect(bye.at - killedAt).toBeLessThan(2000);
    expect(header(bye.text, 'Reason')).toMatch(/cause=\d+/);
    await until(async () => (await redisClient.hexists('gw:calls', call.callId)) === 0, 2000, 'the call record removed from Redis');
    await until(() => !gateway.sip.calls.has(call.callId), 1000, 'the call gone from the gateway');
    await until(async () => (await api<{ participants: unknown[] }>('GET', `/meetings/${meetingId}`)).participants.length === 0, 2000, '/api to show the phone gone');

    const next = await dial(meetingId, identity);
    expect(next.statusLine).toBe('SIP/2.0 200 OK');
    expect(performance.now() - killedAt).toBeLessThan(5000);
    expect(gateway.workers.workers.map((w) => w.pid)).not.toContain(worker!.pid);
    // The new call has working media on the new worker: its producer is there for browsers, the caller is heard and hears the meeting
    // (mediasoup gets a phone's audio only while a browser listens, and none is in this meeting).
    const answeredAt = performance.now();
    await until(() => next.packetsSince(answeredAt) > 10, 3000, 'the meeting heard by the new call');
    const gatewayCall = gateway.sip.calls.get(next.callId)!;
    expect(gatewayCall.media?.producer?.closed).toBe(false);
    await until(async () => ((await gatewayCall.media?.quality())?.received?.packets ?? 0) > 10, 3000, 'the new caller heard by the gateway');
    expect(await redisClient.hexists('gw:calls', next.callId)).toBe(1);
    await next.hangUp();
    await until(async () => (await redisClient.hexists('gw:calls', next.callId)) === 0, 2000, 'the second call record removed');
  });
});
