/**
 * SIP for a meeting hosted on another node, with real parts: one real Redis, three
 * gateway nodes on 127.0.0.11, .12 and .13 (HTTP, media and, on the stand-in, SIP bound
 * there; each with its own drachtio: the stand-in, or a real drachtio-server when
 * DRACHTIO_SERVER_BIN is set), a Chromium page on node A and baresip dialled to node B.
 * B authenticates the call and proxies it to A, which hosts the meeting: the two hear each
 * other in one room, the dialog runs between the phone and A and B holds no call, while B's
 * drachtio (which record-routed the call) relays the dialog's requests both ways: A's BYE
 * reaches the phone, the phone's reaches A. Node C redirects (302) instead; an INVITE carrying a forged or spent hand-off is refused
 * as an unauthenticated one would be; a meeting whose owner has vanished gets 503 with
 * Retry-After; and nodes racing to claim one meeting never both host it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAND_OFF_HEADER, HandOffTokens } from '../../src/sip/hand-off-token.js';
import { RedisClusterStore } from '../../src/store/redis-cluster-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { dominantFrequencyHz, isSilent } from '../support/audio/tone.js';
import { mixToMono, readWav } from '../support/audio/wav.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { measureRemoteToneHz, openMeetingPage, waitForMeetingState, waitForRemoteAudio } from '../support/browser/meeting-page.js';
import { type ClusterNode, startClusterNode } from '../support/cluster-node.js';
import { answerJson, requestJson } from '../support/json-api.js';
import { BaresipPhone } from '../support/phone/baresip.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

const PHONE_HZ = 1000;
const BROWSER_HZ = 600;
const CLUSTER_SECRET = 'cluster-secret-for-the-tests';
const LEASE_SECONDS = 3;

type Node = ClusterNode;

let redis: PrivateRedis;
let a: Node;
let b: Node;
let c: Node;
let browser: LaunchedChromium;
const stops: Array<() => Promise<void>> = [];

function startNode(ip: string, rtpPorts: [number, number], env: Record<string, string> = {}): Promise<Node> {
  return startClusterNode(ip, { redisUrl: redis.url, clusterSecret: CLUSTER_SECRET, rtpPorts, env: { MEETING_LEASE_SECONDS: String(LEASE_SECONDS), ...env } });
}

const sipAddress = (node: Node) => `${node.target.sipAddress.host}:${node.target.sipAddress.port}`;
const api = <T>(node: Node, method: string, path: string, body?: unknown) => requestJson<T>(`${node.gateway.httpUrl}/api`, method, path, body);

async function meetingWithCredential(meetingId: string): Promise<{ username: string; password: string }> {
  await api(a, 'POST', '/meetings', { id: meetingId });
  return api(a, 'POST', '/sip-credentials', { meetingId });
}

/** A raw SIP caller to `node`, authenticating with `credentials` when given; resolves with the final response. */
async function invite(node: Node, meetingId: string, options: { credentials?: { username: string; password: string }; headers?: Record<string, string>; body?: string }) {
  const peer = await SipPeer.udp(node.target.sipAddress);
  stops.push(() => peer.close());
  const caller = new SipCaller(peer, `sip:${meetingId}@${sipAddress(node)}`);
  const body = options.body ?? '';
  caller.invite({ headers: options.headers ?? {}, body });
  let final = await peer.next(isFinalResponse, 5000);
  if (options.credentials && final.text.startsWith('SIP/2.0 401 ')) {
    caller.ackFailure(final);
    caller.invite({ authorization: caller.authorization(final, options.credentials), headers: options.headers ?? {}, body });
    final = await peer.next(isFinalResponse, 5000);
  }
  if (!final.text.startsWith('SIP/2.0 2')) caller.ackFailure(final);
  return { final, caller, peer };
}

beforeAll(async () => {
  redis = await spawnRedisServer();
  a = await startNode('127.0.0.11', [47000, 47099]);
  b = await startNode('127.0.0.12', [47100, 47199]);
  c = await startNode('127.0.0.13', [47200, 47299], { SIP_CLUSTER_MODE: 'redirect' });
  browser = await launchChromium({ toneHz: BROWSER_HZ });
}, 90_000);

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  await browser?.close();
  for (const node of [a, b, c]) {
    await node?.gateway.close();
    await node?.target.close();
  }
  await redis?.stop();
});

describe('a phone dialled to a node that does not host the meeting', () => {
  it('is proxied to the owner: phone and browser hear each other in one room, the dialog runs with the owner, the other node holds nothing', { timeout: 90_000 }, async () => {
    const meetingId = 'cluster-call';
    const credentials = await meetingWithCredential(meetingId);
    const page = await browser.newPage();
    stops.push(() => page.close());
    await openMeetingPage(page, a.gateway.httpUrl, meetingId, 'Browser');
    await waitForMeetingState(page, 'joined');
    expect((await api<{ owner?: { nodeId: string } }>(b, 'GET', `/meetings/${meetingId}`)).owner?.nodeId).toBe(a.gateway.nodeId);

    const phone = await BaresipPhone.start({ toneHz: PHONE_HZ, codec: 'PCMU', ...credentials, sipServer: sipAddress(b) });
    stops.push(() => phone.stop());
    await phone.dial(`sip:${meetingId}@${sipAddress(b)}`);
    await phone.waitForEvent('CALL_ESTABLISHED', 10_000);
    await until(async () => (await a.gateway.store.listCalls(meetingId)).length === 1, 5000, 'the call up on A');
    const [record] = await a.gateway.store.listCalls(meetingId);
    expect(record!.nodeId).toBe(a.gateway.nodeId);
    const call = a.gateway.sip.calls.get(record!.callId)!;
    expect(call.state).toBe('answered');
    expect(b.gateway.sip.calls.size).toBe(0);
    expect(await b.gateway.rooms.existing(meetingId)).toBeUndefined();

    await waitForRemoteAudio(page, 1, 15_000);
    const heard = await measureRemoteToneHz(page);
    expect(heard, `the browser on A heard ${heard} Hz from the phone dialled to B`).not.toBeNull();
    expect(Math.abs(heard! - PHONE_HZ)).toBeLessThanOrEqual(5);

    // The phone's BYE goes to A through B's drachtio-server, by the Route B record-routed.
    await phone.hangup();
    await phone.waitForEvent('CALL_CLOSED', 5000);
    await call.whenEnded();
    expect(call.state).toBe('closed');
    expect(b.gateway.sip.calls.size).toBe(0);
    const { decoded, codec } = await phone.recordings();
    const samples = mixToMono(await readWav(decoded));
    const seconds = samples.length / codec.sampleRate;
    const lastSecond = { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 };
    expect(isSilent(samples, codec.sampleRate, lastSecond)).toBe(false);
    const phoneHeard = dominantFrequencyHz(samples, codec.sampleRate, lastSecond);
    expect(Math.abs(phoneHeard - BROWSER_HZ), `the phone heard ${phoneHeard} Hz`).toBeLessThanOrEqual(5);
  });

  it('gets the owner\'s BYE through the node it dialled (B record-routed the call), and its own BYE through B ends the call on the owner', { timeout: 30_000 }, async () => {
    const meetingId = 'cluster-owner-bye';
    const credentials = await meetingWithCredential(meetingId);
    expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');
    for (const ender of ['owner', 'phone'] as const) {
      const { final, caller, peer } = await invite(b, meetingId, { credentials, body: PCMU_OFFER(30000) });
      expect(final.text).toMatch(/^SIP\/2\.0 200 /);
      expect(header(final.text, 'Record-Route')).toContain(`${sipAddress(b)};lr`);
      caller.inDialog(final, 'ACK');
      await until(() => a.gateway.sip.calls.all().some((call) => call.state === 'answered'), 5000, 'the call answered on A');
      const call = a.gateway.sip.calls.all()[0]!;
      if (ender === 'owner') {
        const hungUp = answerJson(`${a.gateway.httpUrl}/api`, 'DELETE', `/calls/${encodeURIComponent(call.callId)}`);
        const bye = await peer.next(isRequest('BYE'), 5000);
        expect(bye.from).toEqual(b.target.sipAddress);
        peer.send(responseTo(parseSipMessage(bye.text) as SipRequest, 200, 'OK'));
        expect((await hungUp).status).toBe(204);
      } else {
        caller.inDialog(final, 'BYE');
        await peer.next(isResponse(200, 'BYE'), 5000);
      }
      await call.whenEnded();
      expect(call.state, ender).toBe('closed');
      expect(a.gateway.sip.calls.size).toBe(0);
      expect(b.gateway.sip.calls.size).toBe(0);
    }
  });

  it('is redirected with a 302 to the owner by a node in redirect mode', { timeout: 30_000 }, async () => {
    const meetingId = 'cluster-redirect';
    const credentials = await meetingWithCredential(meetingId);
    expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');
    const { final } = await invite(c, meetingId, { credentials });
    expect(final.text).toMatch(/^SIP\/2\.0 302 /);
    expect(header(final.text, 'Contact')).toBe(`<sip:${meetingId}@${sipAddress(a)}>`);
    expect(c.gateway.sip.calls.size).toBe(0);
  });

  it('is refused with 503 and Retry-After while the meeting is held by a node that is gone, and no second room opens', { timeout: 30_000 }, async () => {
    const meetingId = 'cluster-dead-owner';
    const credentials = await meetingWithCredential(meetingId);
    const store = a.gateway.store as RedisStore;
    const cluster = new RedisClusterStore(store.redis, { prefix: store.prefix });
    await cluster.claimMeeting(meetingId, { nodeId: 'a-node-that-died', url: 'http://127.0.0.99:1' }, LEASE_SECONDS * 1000);
    const { final } = await invite(b, meetingId, { credentials });
    expect(final.text).toMatch(/^SIP\/2\.0 503 /);
    expect(Number(header(final.text, 'Retry-After'))).toBe(LEASE_SECONDS);
    expect(header(final.text, 'Warning')).toContain('which is gone');
    expect(await b.gateway.rooms.existing(meetingId)).toBeUndefined();
  });
});

describe('a hand-off from outside the cluster', () => {
  it('is refused like an INVITE without credentials: a made-up token, one signed with another secret, a copy for another call', { timeout: 30_000 }, async () => {
    const meetingId = 'cluster-forged';
    await meetingWithCredential(meetingId);
    expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');
    const outsider = new HandOffTokens('not-the-cluster-secret-at-all');
    const forged = outsider.issue({ callId: 'whatever', fromTag: 'x' }, { fromNode: b.gateway.nodeId, meetingId, caller: { username: 'uanyone' } });
    for (const token of ['made-up', forged]) {
      const { final } = await invite(a, meetingId, { headers: { [HAND_OFF_HEADER]: token } });
      expect(final.text, token).toMatch(/^SIP\/2\.0 403 /);
    }
    // A genuine token for one call is worth nothing on another (its MAC binds the Call-ID and From tag).
    const genuine = new HandOffTokens(CLUSTER_SECRET).issue({ callId: 'another-call', fromTag: 'x' }, { fromNode: b.gateway.nodeId, meetingId, caller: { username: 'uanyone' } });
    const { final } = await invite(a, meetingId, { headers: { [HAND_OFF_HEADER]: genuine } });
    expect(final.text).toMatch(/^SIP\/2\.0 403 /);
    expect(a.gateway.sip.calls.size).toBe(0);
  });

  it('is spent on its first use: the same genuine token again on its call is refused 403 Forbidden', { timeout: 30_000 }, async () => {
    const meetingId = 'cluster-replayed';
    await meetingWithCredential(meetingId);
    expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');
    const peer = await SipPeer.udp(a.target.sipAddress);
    stops.push(() => peer.close());
    const caller = new SipCaller(peer, `sip:${meetingId}@${sipAddress(a)}`);
    // For a username that is no credential: taken (and spent), then refused as a revoked credential is.
    const token = new HandOffTokens(CLUSTER_SECRET).issue({ callId: caller.callId, fromTag: caller.fromTag }, { fromNode: b.gateway.nodeId, meetingId, caller: { username: 'unone' } });
    const finals = [];
    for (let i = 0; i < 2; i++) {
      caller.invite({ headers: { [HAND_OFF_HEADER]: token } });
      const final = await peer.next(isFinalResponse, 5000);
      caller.ackFailure(final);
      finals.push(firstLine(final.text));
    }
    expect(finals).toEqual(['SIP/2.0 403 Wrong Credentials', 'SIP/2.0 403 Forbidden']);
    expect(a.gateway.sip.calls.size).toBe(0);
  });

  it('carried by a caller to a non-owner is refused there, not passed on', { timeout: 30_000 }, async () => {
    const meetingId = 'cluster-forged-through';
    const credentials = await meetingWithCredential(meetingId);
    expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');
    const { final, peer } = await invite(b, meetingId, { credentials, headers: { [HAND_OFF_HEADER]: 'made-up.token' } });
    expect(final.text).toMatch(/^SIP\/2\.0 403 /);
    expect(peer.received.some((m) => /^SIP\/2\.0 200 /.test(m.text))).toBe(false);
    expect(a.gateway.sip.calls.size).toBe(0);
  });
});

describe('nodes racing to claim a meeting', () => {
  it('never both host it, however often they race', { timeout: 30_000 }, async () => {
    const nodes = [a, b, c];
    for (let round = 0; round < 100; round++) {
      const meetingId = `race-${round}`;
      const placements = await Promise.all(nodes.map((node) => node.gateway.ownership.admit(meetingId)));
      const hosts = nodes.filter((_, i) => placements[i]!.kind === 'here');
      expect(hosts, `round ${round}`).toHaveLength(1);
      const winner = hosts[0]!.gateway.nodeId;
      for (const placement of placements) {
        if (placement.kind === 'elsewhere') expect(placement.nodeId, `round ${round}`).toBe(winner);
      }
    }
  });
});

