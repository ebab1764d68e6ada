/**
 * Draining a node that relays a call, with real parts: one real Redis and two gateway
 * nodes on 127.0.0.16 (A, hosting the meeting) and 127.0.0.17 (B), each with its own
 * drachtio (the stand-in, or a real drachtio-server when DRACHTIO_SERVER_BIN is set). A
 * call dialled to B is proxied to A with Record-Route, so B's drachtio relays the dialog
 * while B's gateway holds no call: A's record of the call names B as the node it came
 * through, and B, asked to drain, stays until that call has ended on A, then closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { freeTcpPort } from '../support/free-port.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { header } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

const CLUSTER_SECRET = 'cluster-secret-for-the-drain-tests';

interface Node {
  readonly target: DrachtioTarget;
  readonly gateway: Gateway;
}

let redis: PrivateRedis;
let a: Node;
let b: Node;
let peer: SipPeer | undefined;

async function startNode(ip: string, rtpPorts: [number, number]): Promise<Node> {
  const target = await drachtioTarget({ sipHost: ip });
  const port = await freeTcpPort(ip);
  const gateway = await startSipTestGateway(target, {
    REDIS_URL: redis.url,
    SIP_DOMAIN: 'cluster.test',
    SIP_CLUSTER_SECRET: CLUSTER_SECRET,
    HTTP_HOST: ip,
    HTTP_PORT: String(port),
    PUBLIC_URL: `http://${ip}:${port}`,
    RTP_LISTEN_IP: ip,
    ANNOUNCED_IP: ip,
    RTP_MIN_PORT: String(rtpPorts[0]),
    RTP_MAX_PORT: String(rtpPorts[1]),
    MEDIA_THREADS: '1',
    DRAIN_SECONDS: '60',
  });
  return { target, gateway };
}

const api = <T>(node: Node, method: string, path: string, body?: unknown) => requestJson<T>(`${node.gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  redis = await spawnRedisServer();
  a = await startNode('127.0.0.16', [47900, 47949]);
  b = await startNode('127.0.0.17', [47950, 47999]);
}, 60_000);

afterAll(async () => {
  await peer?.close();
  for (const node of [a, b]) {
    await node?.gateway.close();
    await node?.target.close();
  }
  await redis?.stop();
});

describe('a node that proxied a live call to the meeting\'s node, asked to drain', () => {
  it('does not finish draining while the call lasts, and finishes once the phone\'s BYE ends it on the owner', { timeout: 30_000 }, async () => {
    const meetingId = 'drain-relayed-call';
    await api(a, 'POST', '/meetings', { id: meetingId });
    const credentials = await api<{ username: string; password: string }>(a, 'POST', '/sip-credentials', { meetingId });
    expect((await a.gateway.ownership.admit(meetingId)).kind).toBe('here');

    peer = await SipPeer.udp(b.target.sipAddress);
    const caller = new SipCaller(peer, `sip:${meetingId}@${b.target.sipAddress.host}:${b.target.sipAddress.port}`);
    caller.invite({ body: PCMU_OFFER(30000) });
    const challenge = await peer.next(isFinalResponse, 5000);
    expect(challenge.text).toMatch(/^SIP\/2\.0 401 /);
    caller.ackFailure(challenge);
    caller.invite({ authorization: caller.authorization(challenge, credentials), body: PCMU_OFFER(30000) });
    const answer = await peer.next(isFinalResponse, 5000);
    expect(answer.text).toMatch(/^SIP\/2\.0 200 /);
    expect(header(answer.text, 'Record-Route')).toContain(`${b.target.sipAddress.host}:${b.target.sipAddress.port};lr`);
    caller.inDialog(answer, 'ACK');
    await until(() => a.gateway.sip.calls.all().some((call) => call.state === 'answered'), 5000, 'the call answered on A');
    const call = a.gateway.sip.calls.all()[0]!;
    expect(b.gateway.sip.calls.size).toBe(0);

    // The call API, on either node, says which node the call came through.
    type Listed = { callId: string; nodeId: string; viaNodeId?: string };
    const listedOn = async (node: Node) => (await api<{ calls: Listed[] }>(node, 'GET', '/calls')).calls.find((view) => view.callId === call.callId);
    await until(async () => (await listedOn(b)) !== undefined, 5000, 'the call recorded in the store');
    const listed = await listedOn(b);
    expect(listed).toMatchObject({ nodeId: a.gateway.nodeId, viaNodeId: b.gateway.nodeId });
    expect((await listedOn(a))?.viaNodeId).toBe(b.gateway.nodeId);

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
});
