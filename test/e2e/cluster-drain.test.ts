/**
 * Draining a node that relays a call, with real parts: one real Redis and two gateway
 * nodes on 127.0.0.16 (A, hosting the meeting) and 127.0.0.17 (B), each with its own
 * drachtio (the stand-in, or a real drachtio-server when DRACHTIO_SERVER_BIN is set). A
 * call dialled to B is proxied to A with Record-Route, so B's drachtio relays the dialog
 * while B's gateway holds no call: A's record of the call names B as the node it came
 * through, and B, asked to drain, stays until that call has ended on A, then closes. A
 * third node C (127.0.0.18) drains with a 1 s DRAIN_SECONDS: when it is up, A ends the
 * call C relays, with a BYE that reaches the phone through C.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, startClusterNode } from '../support/cluster-node.js';
import { requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

const CLUSTER_SECRET = 'cluster-secret-for-the-drain-tests';

type Node = ClusterNode;

let redis: PrivateRedis;
let a: Node;
let b: Node;
let c: Node;
const peers: SipPeer[] = [];

function startNode(ip: string, rtpPorts: [number, number], drainSeconds: number): Promise<Node> {
  return startClusterNode(ip, { redisUrl: redis.url, clusterSecret: CLUSTER_SECRET, rtpPorts, env: { DRAIN_SECONDS: String(drainSeconds) } });
}

/** A phone dialled to `node`, answered by A (which hosts the meeting) through it; returns A's call. */
async function callThrough(node: Node, meetingId: string, credentials: { username: string; password: string }) {
  const peer = await SipPeer.udp(node.target.sipAddress);
  peers.push(peer);
  const address = `${node.target.sipAddress.host}:${node.target.sipAddress.port}`;
  const caller = new SipCaller(peer, `sip:${meetingId}@${address}`);
  caller.invite({ body: PCMU_OFFER(30000) });
  const challenge = await peer.next(isFinalResponse, 5000);
  expect(challenge.text).toMatch(/^SIP\/2\.0 401 /);
  caller.ackFailure(challenge);
  caller.invite({ authorization: caller.authorization(challenge, credentials), body: PCMU_OFFER(30000) });
  const answer = await peer.next(isFinalResponse, 5000);
  expect(answer.text).toMatch(/^SIP\/2\.0 200 /);
  expect(header(answer.text, 'Record-Route')).toContain(`${address};lr`);
  caller.inDialog(answer, 'ACK');
  await until(() => a.gateway.sip.calls.all().some((call) => call.meetingId === meetingId && call.state === 'answered'), 5000, 'the call answered on A');
  const call = a.gateway.sip.calls.all().find((open) => open.meetingId === meetingId)!;
  // Recorded once the media started (after the ACK): only then do the nodes see it in the store.
  await until(async () => (await listedOn(node, call.callId)) !== undefined, 5000, 'the call recorded in the store');
  return { caller, peer, answer, call };
}

/** The call as `node`'s call API lists it. */
async function listedOn(node: Node, callId: string) {
  const { calls } = await api<{ calls: Array<{ callId: string; nodeId: string; viaNodeId?: string }> }>(node, 'GET', '/calls');
  return calls.find((view) => view.callId === callId);
}

async function meetingWithCredential(meetingId: string): Promise<{ username: string; password: string }> {
  await api(a, 'POST', '/meetings', { id: meetingId });
  const credentials = await api<{ username: string; password: string }>(a, 'POST', '/sip-credentials', { meetingId });
  expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');
  return credentials;
}

const api = <T>(node: Node, method: string, path: string, body?: unknown) => requestJson<T>(`${node.gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  redis = await spawnRedisServer();
  a = await startNode('127.0.0.16', [47900, 47949], 60);
  b = await startNode('127.0.0.17', [47950, 47999], 60);
  c = await startNode('127.0.0.18', [47900, 47949], 1);
}, 60_000);

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
  for (const node of [a, b, c]) {
    await node?.gateway.close();
    await node?.target.close();
  }
  await redis?.stop();
});

describe('a node that proxied a live call to the meeting\'s node, asked to drain', () => {
  it('does not finish draining while the call lasts, and finishes once the phone\'s BYE ends it on the owner', { timeout: 30_000 }, async () => {
    const meetingId = 'drain-relayed-call';
    const credentials = await meetingWithCredential(meetingId);
    const { caller, peer, answer, call } = await callThrough(b, meetingId, credentials);
    expect(b.gateway.sip.calls.size).toBe(0);

    // The call API, on either node, says which node the call came through.
    expect(await listedOn(b, call.callId)).toMatchObject({ nodeId: a.gateway.nodeId, viaNodeId: b.gateway.nodeId });
    expect((await listedOn(a, call.callId))?.viaNodeId).toBe(b.gateway.nodeId);

    let closed = false;
    void b.gateway.whenClosed().then(() => (closed = true));
    const started = b.gateway.drain();
    expect(started).toMatchObject({ state: 'draining', calls: 0, participants: 0 });
    await until(() => b.gateway.drain().relayedCalls === 1, 5000, 'the relayed call counted');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(closed, 'B closed while it still relays a live call').toBe(false);

    // The phone's BYE goes through B's drachtio (still there) to A, which ends the call.
    caller.inDialog(answer, 'BYE');
    await peer.next(isResponse(200, 'BYE'), 5000);
    await call.whenEnded();
    await until(() => closed, 5000, 'B closed once the call it relayed ended');
    expect(a.gateway.sip.calls.size).toBe(0);
  });

  it('when its DRAIN_SECONDS is up, has the owner end the call it relays: a BYE with the draining Reason reaches the phone through it', { timeout: 30_000 }, async () => {
    const meetingId = 'drain-relayed-call-time-up';
    const credentials = await meetingWithCredential(meetingId);
    const { peer, call } = await callThrough(c, meetingId, credentials);
    let closed = false;
    void c.gateway.whenClosed().then(() => (closed = true));
    c.gateway.drain();

    const bye = await peer.next(isRequest('BYE'), 10_000);
    expect(bye.from).toEqual(c.target.sipAddress);
    expect(header(bye.text, 'Reason')).toBe('Q.850;cause=16;text="gateway draining"');
    expect(closed, 'C closed before the call it relays was ended').toBe(false);
    peer.send(responseTo(parseSipMessage(bye.text) as SipRequest, 200, 'OK'));
    await call.whenEnded();
    await until(() => closed, 5000, 'C closed once the call it relayed ended');
  });
});
