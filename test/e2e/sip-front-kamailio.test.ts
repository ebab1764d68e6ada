/**
 * The real Kamailio with config/kamailio/kamailio.cfg in front of two gateway processes
 * (each with its embedded drachtio stand-in, SIP on 127.0.0.11 and 127.0.0.12) on one real
 * Redis, and phones calling through it (the test support's SIP UA, which follows the
 * front's Record-Route): calls go round-robin over both nodes; a caller guessing passwords
 * through the front is banned by its own address (SIP_FRONT_SOURCES), not the front's, so
 * other callers through it are still answered; a draining node answers
 * OPTIONS 503, Kamailio stops sending it calls (an INVITE it refuses with 503 fails over
 * to the other node), and the node keeps its meetings' leases
 * while their calls last and gives each up when its calls end; a node killed with a live
 * call is skipped, a live node marks that call ended (webhook included) and frees its
 * meeting, and the next call to that meeting is answered on the live node.
 * Each call is to a meeting of its own: the node that answers it hosts it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, freeSipPort, processTree, startGatewayProcess } from '../bench/support/gateway-process.js';
import { answerJson, requestJson } from '../support/json-api.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import type { HostPort } from '../support/sip/drachtio-target.js';
import { type Kamailio, startKamailio } from '../support/sip/kamailio.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const FRONT_HOST = '127.0.0.10';
const NODE_HOSTS = ['127.0.0.11', '127.0.0.12'] as const;
/** A phone guessing passwords, from an address of its own (the other phones call from 127.0.0.1). */
const GUESSER_HOST = '127.0.0.21';
const LEASE_SECONDS = 8;
const PROBE_INTERVAL_SECONDS = 1;
const WEBHOOK_SECRET = 'sip-front-webhook-secret';

interface Node {
  readonly sip: HostPort;
  readonly rtpPorts: readonly [number, number];
  process: GatewayProcess | undefined;
}

interface LiveCall {
  readonly caller: SipCaller;
  readonly answered: ReceivedSip;
  /** The SIP host of the node that answered (its Contact). */
  readonly nodeHost: string;
  readonly meetingId: string;
}

let redis: PrivateRedis;
let front: Kamailio;
let frontSip: HostPort;
let phone: SipPeer;
let receiver: WebhookReceiver;
const nodes: Node[] = [];
let meetings = 0;

async function startNode(node: Node): Promise<GatewayProcess> {
  node.process = await startGatewayProcess(
    {
      REDIS_URL: redis.url,
      SIP_PORT: String(node.sip.port),
      RTP_LISTEN_IP: node.sip.host,
      ANNOUNCED_IP: node.sip.host,
      RTP_MIN_PORT: String(node.rtpPorts[0]),
      RTP_MAX_PORT: String(node.rtpPorts[1]),
      // Phones dial the front; every node checks the same nonces.
      SIP_DOMAIN: FRONT_HOST,
      SIP_NONCE_SECRET: 'one-nonce-secret-for-every-node-behind-the-front',
      // The guard judges each caller by the address the front received it from, not the front's.
      SIP_FRONT_SOURCES: `${FRONT_HOST}/32`,
      // A call the front sends to a node that does not host its meeting is proxied to the one that does.
      SIP_CLUSTER_SECRET: 'one-hand-off-secret-for-every-node-of-the-cluster',
      MEETING_LEASE_SECONDS: String(LEASE_SECONDS),
      DRAIN_SECONDS: '120',
      // The test's phones send no RTP.
      RTP_TIMEOUT_SECONDS: '0',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET,
      LOG_LEVEL: 'info',
      WEB_ASSETS_DIR: inject('webAssetsDir'),
    },
    () => undefined,
  );
  return node.process;
}

const api = (node: Node) => `${node.process!.httpUrl}/api`;

/** A meeting of its own and a credential for it, made through a node (the store is shared). */
async function newMeeting(through: Node): Promise<{ meetingId: string; identity: { username: string; password: string } }> {
  const meetingId = `front-${++meetings}`;
  await requestJson(api(through), 'POST', '/meetings', { id: meetingId });
  const identity = await requestJson<{ username: string; password: string }>(api(through), 'POST', '/sip-credentials', { meetingId });
  return { meetingId, identity };
}

const ofCall = (caller: SipCaller) => (m: ReceivedSip) => header(m.text, 'Call-ID') === caller.callId;

/** A call through the front, challenged and answered; rejects on any other final answer. */
async function callThroughFront(meetingId: string, identity: { username: string; password: string }): Promise<LiveCall> {
  const caller = new SipCaller(phone, `sip:${meetingId}@${frontSip.host}:${frontSip.port}`);
  const offer = PCMU_OFFER(30_000 + 2 * meetings);
  caller.invite({ body: offer });
  const challenge = await phone.next((m) => ofCall(caller)(m) && isFinalResponse(m), 10_000);
  expect(firstLine(challenge.text)).toBe('SIP/2.0 401 Unauthorized');
  caller.ackFailure(challenge);
  caller.invite({ body: offer, authorization: caller.authorization(challenge, identity) });
  const answered = await phone.next((m) => ofCall(caller)(m) && isFinalResponse(m), 10_000);
  expect(firstLine(answered.text), answered.text).toBe('SIP/2.0 200 OK');
  caller.inDialog(answered, 'ACK');
  const nodeHost = /<sips?:(?:[^@>]*@)?([\d.]+)/.exec(header(answered.text, 'Contact') ?? '')?.[1] ?? 'unknown';
  return { caller, answered, nodeHost, meetingId };
}

async function hangUp(call: LiveCall): Promise<void> {
  call.caller.inDialog(call.answered, 'BYE');
  const ok = await phone.next((m) => ofCall(call.caller)(m) && isFinalResponse(m), 10_000);
  expect(firstLine(ok.text)).toBe('SIP/2.0 200 OK');
}

interface CallView {
  readonly callId: string;
  readonly meetingId: string;
  readonly nodeId: string;
}

const callsSeenBy = async (node: Node) => (await requestJson<{ calls: CallView[] }>(api(node), 'GET', '/calls')).calls;
const bansSeenBy = async (node: Node) => (await requestJson<{ bans: Array<{ address: string }> }>(api(node), 'GET', '/sip/bans')).bans.map((ban) => ban.address);
const ownerSeenBy = async (node: Node, meetingId: string) =>
  (await requestJson<{ owner?: { nodeId: string } }>(api(node), 'GET', `/meetings/${meetingId}`)).owner?.nodeId;
const nodeAt = (host: string) => nodes.find((node) => node.sip.host === host)!;

/** The node id a call's record names, once the record is there (it is written as the call's media starts). */
async function nodeIdOf(call: LiveCall, seenBy: Node): Promise<string> {
  let nodeId: string | undefined;
  await until(async () => (nodeId = (await callsSeenBy(seenBy)).find((view) => view.callId === call.caller.callId)?.nodeId) !== undefined, 5000, 'the call listed');
  return nodeId!;
}

/** An OPTIONS straight to a node, as the front's probe is. */
async function probe(node: Node): Promise<ReceivedSip> {
  const peer = await SipPeer.udp(node.sip);
  try {
    new SipCaller(peer, `sip:${node.sip.host}:${node.sip.port}`).options();
    return await peer.next(isFinalResponse, 5000);
  } finally {
    await peer.close();
  }
}

beforeAll(async () => {
  redis = await spawnRedisServer();
  receiver = await WebhookReceiver.start();
  for (const [i, host] of NODE_HOSTS.entries()) {
    nodes.push({ sip: { host, port: await freeSipPort() }, rtpPorts: [45_000 + 500 * i, 45_499 + 500 * i], process: undefined });
  }
  await Promise.all(nodes.map(startNode));
  frontSip = { host: FRONT_HOST, port: await freeSipPort() };
  front = await startKamailio({ sip: frontSip, nodes: nodes.map((node) => node.sip), probeIntervalSeconds: PROBE_INTERVAL_SECONDS, inviteTimeoutMs: 1500 });
  phone = await SipPeer.udp(frontSip);
}, 120_000);

afterAll(async () => {
  await phone?.close();
  await front?.stop();
  // Whatever a test left: a second SIGTERM ends the calls at once.
  await Promise.all(
    nodes.map(async ({ process: gateway }) => {
      if (!gateway) return;
      const stopping = gateway.stop();
      try {
        process.kill(gateway.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await stopping;
    }),
  );
  await receiver?.close();
  await redis?.stop();
}, 60_000);

describe('Kamailio in front of two gateway nodes', () => {
  it('sends calls round-robin to both nodes; each is answered and hosted where it arrived, and listed on every node', { timeout: 60_000 }, async () => {
    const calls: LiveCall[] = [];
    for (let i = 0; i < 4; i++) {
      const { meetingId, identity } = await newMeeting(nodes[0]!);
      calls.push(await callThroughFront(meetingId, identity));
    }
    const hosts = calls.map((call) => call.nodeHost);
    expect(new Set(hosts)).toEqual(new Set(NODE_HOSTS));
    for (let i = 1; i < hosts.length; i++) expect(hosts[i], hosts.join(', ')).not.toBe(hosts[i - 1]);
    const callIds = calls.map((call) => call.caller.callId).sort();
    for (const node of nodes) {
      const listed = async () => (await callsSeenBy(node)).map((call) => call.callId).sort();
      await until(async () => JSON.stringify(await listed()) === JSON.stringify(callIds), 5000, 'every call listed');
    }
    for (const call of calls) await hangUp(call);
  });

  it('bans a caller guessing passwords through the front by its own address, never the front\'s: another caller through the same front is still answered', { timeout: 60_000 }, async () => {
    const guesser = await SipPeer.udp(frontSip, GUESSER_HOST);
    try {
      const { meetingId, identity } = await newMeeting(nodes[0]!);
      const wrong = { username: identity.username, password: 'not-the-password' };
      const final = (caller: SipCaller) => guesser.next((m) => ofCall(caller)(m) && isFinalResponse(m), 10_000);
      // The defaults' SIP_AUTH_MAX_FAILURES (5) guesses, each on a fresh challenge; the front sends the answer to its challenger.
      for (let i = 0; i < 5; i++) {
        const caller = new SipCaller(guesser, `sip:${meetingId}@${frontSip.host}:${frontSip.port}`);
        caller.invite();
        const challenge = await final(caller);
        expect(firstLine(challenge.text)).toBe('SIP/2.0 401 Unauthorized');
        caller.ackFailure(challenge);
        caller.invite({ authorization: caller.authorization(challenge, wrong) });
        const refused = await final(caller);
        expect(firstLine(refused.text)).toBe('SIP/2.0 403 Wrong Credentials');
        caller.ackFailure(refused);
      }
      // Banned in the shared store, so on both nodes: the guesser's next INVITE gets no final answer.
      for (const node of nodes) {
        await until(async () => (await bansSeenBy(node)).includes(GUESSER_HOST), 5000, 'the guesser banned');
        expect(await bansSeenBy(node)).not.toContain(FRONT_HOST);
      }
      const banned = new SipCaller(guesser, `sip:${meetingId}@${frontSip.host}:${frontSip.port}`);
      banned.invite();
      await expect(guesser.next((m) => ofCall(banned)(m) && isFinalResponse(m), 3000)).rejects.toThrow();
      // A request the node drops unanswered that is no INVITE (no 100 Trying holds the front) times out at the front,
      // which answers it 408 itself and does not take the node out of rotation for it.
      const bannedOptions = new SipCaller(guesser, `sip:${meetingId}@${frontSip.host}:${frontSip.port}`);
      bannedOptions.options();
      const timedOut = await guesser.next((m) => ofCall(bannedOptions)(m) && isFinalResponse(m), 5000);
      expect(firstLine(timedOut.text)).toBe('SIP/2.0 408 Request Timeout');
      expect(front.output.filter((line) => line.includes(bannedOptions.callId) && line.includes('did not answer'))).toEqual([]);

      // Another phone through the same front, with its own credential, is answered.
      const other = await newMeeting(nodes[0]!);
      await hangUp(await callThroughFront(other.meetingId, other.identity));
      expect((await answerJson(api(nodes[0]!), 'DELETE', `/sip/bans/${GUESSER_HOST}`)).status).toBe(204);
    } finally {
      await guesser.close();
    }
  });

  it('brings every call to a meeting to its owner: the call the front sends to the other node is proxied there, into the same meeting, and the owner\'s BYE for it reaches the phone back through both', { timeout: 60_000 }, async () => {
    const { meetingId, identity } = await newMeeting(nodes[0]!);
    const first = await callThroughFront(meetingId, identity);
    const owner = nodeAt(first.nodeHost);
    const ownerId = await nodeIdOf(first, owner);
    // Round-robin sends the next call to the other node, which proxies it to the owner.
    const second = await callThroughFront(meetingId, identity);
    expect(second.nodeHost).toBe(owner.sip.host);
    expect(await nodeIdOf(second, nodes.find((node) => node !== owner)!)).toBe(ownerId);
    const phonesInRoom = async () =>
      (await requestJson<{ participants: Array<{ kind: string }> }>(api(owner), 'GET', `/meetings/${meetingId}`)).participants.filter(
        (participant) => participant.kind === 'phone',
      ).length;
    await until(async () => (await phonesInRoom()) === 2, 5000, 'both phones in the meeting');
    // The owner's own BYE for the proxied call reaches the phone back through the node and the front.
    const hungUp = answerJson(api(owner), 'DELETE', `/calls/${encodeURIComponent(second.caller.callId)}`);
    const bye = await phone.next((m) => ofCall(second.caller)(m) && isRequest('BYE')(m), 5000);
    expect(bye.from).toEqual(frontSip);
    phone.send(responseTo(parseSipMessage(bye.text) as SipRequest, 200, 'OK'));
    expect((await hungUp).status).toBe(204);
    await hangUp(first);
    await until(async () => (await callsSeenBy(owner)).every((view) => view.meetingId !== meetingId), 5000, 'both calls ended on the owner');
  });

  it('takes a draining node (OPTIONS 503) out of rotation; the node keeps each meeting while its calls last and gives it up when they end', { timeout: 90_000 }, async () => {
    const draining = nodes[1]!;
    // Calls until two are on the node to drain; those on the other end now.
    const kept: LiveCall[] = [];
    while (kept.length < 2) {
      const { meetingId, identity } = await newMeeting(nodes[0]!);
      const call = await callThroughFront(meetingId, identity);
      if (call.nodeHost === draining.sip.host) kept.push(call);
      else await hangUp(call);
    }
    const drainingNodeId = await nodeIdOf(kept[0]!, draining);
    expect(await probe(draining).then((answer) => firstLine(answer.text))).toBe('SIP/2.0 200 OK');

    const drainedAt = Date.now();
    await requestJson(api(draining), 'POST', '/admin/drain');
    // At once, before or just after the front's next probe: an INVITE the draining node
    // refuses with 503 fails over to the other node, so both calls are answered there.
    for (let i = 0; i < 2; i++) {
      const { meetingId, identity } = await newMeeting(nodes[0]!);
      const call = await callThroughFront(meetingId, identity);
      expect(call.nodeHost).toBe(NODE_HOSTS[0]);
      await hangUp(call);
    }
    const refusedProbe = await probe(draining);
    expect(firstLine(refusedProbe.text)).toBe('SIP/2.0 503 Service Unavailable');
    expect(Number(header(refusedProbe.text, 'Retry-After'))).toBeGreaterThanOrEqual(5);
    expect(header(refusedProbe.text, 'Warning')).toContain('draining');

    // Once the front has probed it, every new call goes to the other node.
    await sleep(2500 * PROBE_INTERVAL_SECONDS);
    for (let i = 0; i < 3; i++) {
      const { meetingId, identity } = await newMeeting(nodes[0]!);
      const call = await callThroughFront(meetingId, identity);
      expect(call.nodeHost).toBe(NODE_HOSTS[0]);
      await hangUp(call);
    }

    // Past a whole lease since the drain began, both meetings are still the draining node's.
    await sleep(Math.max(0, drainedAt + (LEASE_SECONDS + 1) * 1000 - Date.now()));
    for (const call of kept) expect(await ownerSeenBy(nodes[0]!, call.meetingId)).toBe(drainingNodeId);

    await hangUp(kept[0]!);
    await until(async () => (await ownerSeenBy(nodes[0]!, kept[0]!.meetingId)) === undefined, (LEASE_SECONDS / 3 + 3) * 1000, 'the meeting whose call ended given up');
    expect(await ownerSeenBy(nodes[0]!, kept[1]!.meetingId)).toBe(drainingNodeId);

    await hangUp(kept[1]!);
    expect(await draining.process!.exited).toEqual({ code: 0, signal: null });
    expect(await ownerSeenBy(nodes[0]!, kept[1]!.meetingId)).toBeUndefined();
    draining.process = undefined;
  });

  it('skips a node killed with a live call; a live node marks the call ended and frees its meeting, whose next call it answers', { timeout: 90_000 }, async () => {
    // The node drained above comes back, and the front puts it back in rotation.
    await startNode(nodes[1]!);
    await sleep(2500 * PROBE_INTERVAL_SECONDS);
    const { meetingId, identity } = await newMeeting(nodes[0]!);
    const doomed = await callThroughFront(meetingId, identity);
    const victim = nodeAt(doomed.nodeHost);
    const survivor = nodes.find((node) => node !== victim)!;
    const victimNodeId = await nodeIdOf(doomed, survivor);
    expect(await ownerSeenBy(survivor, meetingId)).toBe(victimNodeId);

    const killedAt = Date.now();
    const tree = processTree(victim.process!.pid);
    for (const pid of tree) process.kill(pid, 'SIGKILL');
    await victim.process!.exited;
    victim.process = undefined;

    const cleared = async () => !(await callsSeenBy(survivor)).some((call) => call.nodeId === victimNodeId) && (await ownerSeenBy(survivor, meetingId)) === undefined;
    await until(cleared, LEASE_SECONDS * 1000, 'no call of the killed node listed, and its meeting free');
    expect(Date.now() - killedAt).toBeLessThan(LEASE_SECONDS * 1000);
    await until(
      async () => receiver.accepted().some((event) => event.type === 'call.ended' && event.data.callId === doomed.caller.callId),
      10_000,
      'the call.ended webhook of the killed call',
    );
    expect(receiver.accepted().find((event) => event.type === 'call.ended' && event.data.callId === doomed.caller.callId)?.data).toMatchObject({
      meetingId,
      endedBy: 'gateway',
      reason: 'gateway node lost',
    });

    // Whether the front has seen it die yet or fails the INVITE over, the call reaches the live node.
    for (let i = 0; i < 2; i++) {
      const again = await callThroughFront(meetingId, identity);
      expect(again.nodeHost).toBe(survivor.sip.host);
      const survivorNodeId = await nodeIdOf(again, survivor);
      await until(async () => (await ownerSeenBy(survivor, meetingId)) === survivorNodeId, 5000, 'the meeting hosted by the live node');
      await hangUp(again);
    }
  });
});
