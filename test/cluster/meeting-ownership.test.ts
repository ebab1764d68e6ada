/**
 * Several gateway nodes on one real Redis, in this test process: a meeting is hosted by
 * the node holding its lease, browsers joining through another node are sent there (the
 * page with a 307, the signaling socket with a redirect notification), the API names the
 * owner, and a meeting whose owner is gone (room closed, or the node cut off from Redis)
 * is claimed by the next join on a live node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { CloseCode } from '../../src/signaling/protocol.js';
import { freeTcpPort } from '../support/free-port.js';
import { startTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { SignalingTestClient } from '../support/signaling-client.js';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';

const LEASE_SECONDS = 2;

let redis: PrivateRedis;
/** Node A reaches Redis through it, so the test can cut A off as a dead node would be. */
let proxyToRedis: TcpProxy;
let a: Gateway;
let b: Gateway;
const clients: SignalingTestClient[] = [];

/** A node on its own HTTP port, with PUBLIC_URL its own address, and RTP ports of its own. */
async function startNode(redisUrl: string, rtpPorts: [number, number]): Promise<Gateway> {
  const port = await freeTcpPort();
  return startTestGateway({
    REDIS_URL: redisUrl,
    RTP_MIN_PORT: String(rtpPorts[0]),
    RTP_MAX_PORT: String(rtpPorts[1]),
    HTTP_PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MEETING_LEASE_SECONDS: String(LEASE_SECONDS),
    // A room closes as soon as its last member leaves, and gives its meeting up with it.
    EMPTY_ROOM_GRACE_SECONDS: '0',
  });
}

const wsUrl = (node: Gateway, meetingId: string) => `${node.httpUrl.replace('http', 'ws')}/ws/meetings/${meetingId}`;

async function connect(node: Gateway, meetingId: string): Promise<SignalingTestClient> {
  const client = await SignalingTestClient.connect(wsUrl(node, meetingId));
  clients.push(client);
  return client;
}

async function joinThrough(node: Gateway, meetingId: string, displayName: string): Promise<SignalingTestClient> {
  const client = await connect(node, meetingId);
  const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
  await client.request('join', { displayName, rtpCapabilities });
  return client;
}

const ownerSeenBy = async (node: Gateway, meetingId: string) =>
  (await requestJson<{ owner?: { nodeId: string; url: string } }>(`${node.httpUrl}/api`, 'GET', `/meetings/${meetingId}`)).owner;

beforeAll(async () => {
  redis = await spawnRedisServer();
  proxyToRedis = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(redis.url).port) });
  a = await startNode(`redis://127.0.0.1:${proxyToRedis.port}`, [47700, 47799]);
  b = await startNode(redis.url, [47800, 47899]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([a?.close(), b?.close()]);
  await proxyToRedis?.close();
  await redis?.stop();
});

describe('a meeting on several nodes', () => {
  it('is hosted by the node of its first join; the other node sends browsers there and names it', async () => {
    await requestJson(`${a.httpUrl}/api`, 'POST', '/meetings', { id: 'hosted-on-a' });
    expect(await ownerSeenBy(b, 'hosted-on-a')).toBeUndefined();
    await joinThrough(a, 'hosted-on-a', 'Ada');
    const owner = { nodeId: a.nodeId, url: a.config.publicUrl };
    expect(await ownerSeenBy(b, 'hosted-on-a')).toEqual(owner);
    expect(await ownerSeenBy(a, 'hosted-on-a')).toEqual(owner);

    const page = await fetch(`${b.httpUrl}/m/hosted-on-a?name=Bo`, { redirect: 'manual' });
    expect(page.status).toBe(307);
    expect(page.headers.get('location')).toBe(`${a.config.publicUrl}/m/hosted-on-a?name=Bo`);
    expect((await fetch(`${a.httpUrl}/m/hosted-on-a`, { redirect: 'manual' })).status).toBe(200);

    const sentAway = await connect(b, 'hosted-on-a');
    expect(await sentAway.notification('redirect')).toEqual({ url: `${a.config.publicUrl}/m/hosted-on-a` });
    expect((await sentAway.closed).code).toBe(CloseCode.redirect);
    // B opened no room of its own: everyone of the meeting is on A.
    expect(b.rooms.isOpen('hosted-on-a')).toBe(false);
    expect(b.rooms.count).toBe(0);
  });

  it('is given up when its room closes, and the next join anywhere claims it', async () => {
    await requestJson(`${a.httpUrl}/api`, 'POST', '/meetings', { id: 'moves-on' });
    const first = await joinThrough(a, 'moves-on', 'Ada');
    expect((await ownerSeenBy(b, 'moves-on'))?.nodeId).toBe(a.nodeId);
    await first.request('leave', {});
    await until(async () => (await ownerSeenBy(b, 'moves-on')) === undefined, 5000, 'the lease released with the room');

    await joinThrough(b, 'moves-on', 'Bo');
    expect(await ownerSeenBy(a, 'moves-on')).toEqual({ nodeId: b.nodeId, url: b.config.publicUrl });
    const page = await fetch(`${a.httpUrl}/m/moves-on`, { redirect: 'manual' });
    expect(page.headers.get('location')).toBe(`${b.config.publicUrl}/m/moves-on`);
  });

  it('passes to a live node within the lease once its owner can no longer renew, and the old owner sends joins on to the new one', async () => {
    await requestJson(`${a.httpUrl}/api`, 'POST', '/meetings', { id: 'owner-lost' });
    await joinThrough(a, 'owner-lost', 'Ada');
    expect((await ownerSeenBy(b, 'owner-lost'))?.nodeId).toBe(a.nodeId);

    // A is cut off from Redis (as a node that died): it can neither renew nor release.
    const cutAt = Date.now();
    proxyToRedis.refuse(true);
    proxyToRedis.cut();
    await until(async () => (await ownerSeenBy(b, 'owner-lost')) === undefined, LEASE_SECONDS * 1000 + 2000, 'the lease of the cut-off owner to expire');
    expect(Date.now() - cutAt).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 1000);

    await joinThrough(b, 'owner-lost', 'Bo');
    expect((await ownerSeenBy(b, 'owner-lost'))?.nodeId).toBe(b.nodeId);

    // A, back on Redis with Ada still in its old room, no longer counts on its lease: a join
    // through it goes to B, not into A's room.
    proxyToRedis.refuse(false);
    await until(async () => (await fetch(`${a.httpUrl}/readyz`)).status === 200, 5000, 'node A back on Redis');
    const sentOn = await connect(a, 'owner-lost');
    expect(await sentOn.notification('redirect')).toEqual({ url: `${b.config.publicUrl}/m/owner-lost` });
    expect((await sentOn.closed).code).toBe(CloseCode.redirect);
  });
});
