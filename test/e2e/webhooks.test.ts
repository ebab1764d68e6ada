/**
 * Call, participant and meeting events posted to a real HTTP receiver (node:http) by a
 * real gateway: a SIP caller through drachtio (the stand-in, or the real drachtio-server
 * when DRACHTIO_SERVER_BIN is set), a browser over the signaling WebSocket, private
 * redis-servers. Also: a receiver that never answers does not hold up a call, and an event
 * waiting in Redis outlives the gateway that queued it.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { WebhookEnvelope } from '../../src/webhooks/webhook-events.js';
import { freeTcpPort } from '../support/free-port.js';
import { capturedLogger } from '../support/log-capture.js';
import { startSipTestGateway, startTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { parsePrometheusText } from '../support/prometheus-text.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { SignalingTestClient } from '../support/signaling-client.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'whsec-e2e-0123456789abcdef';

let target: DrachtioTarget;
let redis: PrivateRedis;
let receiver: WebhookReceiver;
let gateway: Gateway;
const gatewayLog = capturedLogger();
const calls: RtpCall[] = [];
const browsers: SignalingTestClient[] = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  target = await drachtioTarget();
  redis = await spawnRedisServer();
  receiver = await WebhookReceiver.start();
  gateway = await startSipTestGateway(target, {
    REDIS_URL: redis.url,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    RTP_MIN_PORT: '46100',
    RTP_MAX_PORT: '46199',
    MEDIA_THREADS: '1',
  }, gatewayLog.log);
}, 60_000);

afterEach(async () => {
  await Promise.all(calls.splice(0).map((call) => call.close()));
  for (const browser of browsers.splice(0)) browser.socket.close();
  receiver.answers = [];
  receiver.otherwise = 204;
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  await receiver?.close();
  await redis?.stop();
});

async function meetingWithCredential(meetingId: string): Promise<{ username: string; password: string }> {
  await api('POST', '/meetings', { id: meetingId });
  return api('POST', '/sip-credentials', { meetingId });
}

async function joinBrowser(meetingId: string): Promise<SignalingTestClient> {
  const browser = await SignalingTestClient.connect(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/${meetingId}`);
  browsers.push(browser);
  const { rtpCapabilities } = await browser.request('getRouterRtpCapabilities', {});
  await browser.request('join', { displayName: 'Ada in the browser', rtpCapabilities });
  return browser;
}

/** The accepted events about this call, and about the meeting's participants. */
function eventsOf(meetingId: string): WebhookEnvelope[] {
  return receiver.accepted().filter((event) => event.data.meetingId === meetingId);
}

function callEvents(callId: string): WebhookEnvelope[] {
  return receiver.accepted().filter((event) => 'callId' in event.data && event.data.callId === callId);
}

describe('webhooks from a running gateway', () => {
  it('tells a call as ringing, answered and ended, and its phone joining and leaving, with plausible data and the number masked', { timeout: 60_000 }, async () => {
    const meetingId = 'hooked';
    const credentials = await meetingWithCredential(meetingId);
    await joinBrowser(meetingId);

    const call = await RtpCall.dial(target.sipAddress, meetingId, credentials, { rtcpMux: true });
    calls.push(call);
    expect(call.statusLine).toMatch(/^SIP\/2\.0 200 /);
    await until(() => call.rtp.received.length >= 25, 10_000, 'half a second of the mix at the phone');
    // A key pressed, as a SIP INFO (application/dtmf-relay).
    call.caller.inDialog(call.final!, 'INFO', { body: 'Signal=5\r\nDuration=160\r\n' });
    await call.peer.next(isResponse(200, 'INFO'), 5000);
    await until(() => callEvents(call.callId).some((event) => event.type === 'call.dtmf'), 10_000, 'call.dtmf');
    await call.hangUp();
    await until(() => callEvents(call.callId).some((event) => event.type === 'call.ended'), 10_000, 'call.ended');
    await until(() => eventsOf(meetingId).some((event) => event.type === 'participant.left'), 10_000, 'participant.left');

    // One each, although the call's first INVITE was challenged (a call that never rang tells nothing).
    const byType = (type: string) => callEvents(call.callId).filter((event) => event.type === type);
    expect(callEvents(call.callId).map((event) => event.type).sort()).toEqual(['call.answered', 'call.dtmf', 'call.ended', 'call.ringing']);
    const [ringing] = byType('call.ringing');
    const [answered] = byType('call.answered');
    const [ended] = byType('call.ended');
    const common = { callId: call.callId, meetingId, caller: '•••0123' };
    expect(ringing!.data).toMatchObject(common);
    expect(answered!.data).toMatchObject(common);
    expect(ended!.data).toMatchObject({ ...common, endedBy: 'caller', reason: 'BYE', codec: 'PCMU' });
    const times = [ringing, answered, ended].map((event) => Date.parse(event!.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    if (ended!.type !== 'call.ended' || answered!.type !== 'call.answered' || ringing!.type !== 'call.ringing') throw new Error('unreachable');
    const data = ended!.data;
    expect(data.startedAt).toBe(ringing!.data.startedAt);
    expect(data.answeredAt).toBe(answered!.data.answeredAt);
    expect(data.status).toBeUndefined();
    expect(data.cause).toBeUndefined();
    expect(data.durationMs).toBeGreaterThanOrEqual(500);
    expect(data.connectedMs).toBeGreaterThanOrEqual(500);
    expect(data.connectedMs).toBeLessThanOrEqual(data.durationMs);
    expect(Date.parse(data.endedAt) - Date.parse(data.startedAt)).toBe(data.durationMs);
    expect(data.quality?.codec).toBe('PCMU');
    expect(data.quality?.fromPhone?.packets).toBeGreaterThan(20);
    expect(data.quality?.fromPhone?.mos).toBeGreaterThan(4);

    const participants = eventsOf(meetingId).filter((event) => event.type.startsWith('participant.'));
    const phone = participants.filter((event) => 'kind' in event.data && event.data.kind === 'phone');
    expect(phone.map((event) => event.type)).toEqual(['participant.joined', 'participant.left']);
    expect(phone[0]!.data).toMatchObject({ meetingId, displayName: '•••0123' });
    const { participantId } = phone[0]!.data as { participantId: string };
    expect(phone[1]!.data).toMatchObject({ participantId, reason: 'caller sent BYE' });
    // The call's events name the phone's participant.
    expect(answered!.data.participantId).toBe(participantId);
    expect(data.participantId).toBe(participantId);
    expect(byType('call.dtmf')[0]!.data).toMatchObject({ callId: call.callId, meetingId, participantId, digit: '5' });
    expect(participants.some((event) => event.type === 'participant.joined' && 'kind' in event.data && event.data.kind === 'browser' && event.data.displayName === 'Ada in the browser')).toBe(true);

    // Signed, with no secret and no full number in any of them.
    for (const request of receiver.requests) {
      expect(WebhookReceiver.signedWith(SECRET, request)).toBe(true);
      for (const secret of [SECRET, credentials.password, '4155550123', '555-0123']) expect(request.body).not.toContain(secret);
    }
    // Nor the secret or the receiver's URL (which may carry a token) in the gateway's log, its configuration line included.
    expect(gatewayLog.lines().some((line) => line.msg === 'configuration')).toBe(true);
    expect(gatewayLog.text()).not.toContain(SECRET);
    expect(gatewayLog.text()).not.toContain(receiver.url);
  });

  it('tells nothing of a call whose credentials are wrong', { timeout: 30_000 }, async () => {
    const { username } = await meetingWithCredential('hooked-refused');
    const call = await RtpCall.dial(target.sipAddress, 'hooked-refused', { username, password: 'not-the-password' });
    calls.push(call);
    expect(call.statusLine).toMatch(/^SIP\/2\.0 403 /);
    // Time for any event to have been posted.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.requests.filter(({ body }) => body.includes(call.callId))).toEqual([]);
  });

  it('tells the end of a meeting after its participants left', { timeout: 30_000 }, async () => {
    const meetingId = 'hooked-ending';
    await api('POST', '/meetings', { id: meetingId });
    await joinBrowser(meetingId);
    await until(() => eventsOf(meetingId).some((event) => event.type === 'participant.joined'), 5000, 'participant.joined');
    await api('DELETE', `/meetings/${meetingId}`);
    await until(() => eventsOf(meetingId).some((event) => event.type === 'meeting.ended'), 5000, 'meeting.ended');
    const left = eventsOf(meetingId).find((event) => event.type === 'participant.left');
    expect(left?.data).toMatchObject({ kind: 'browser', reason: 'meeting ended' });
    const end = eventsOf(meetingId).find((event) => event.type === 'meeting.ended');
    expect(end?.data).toMatchObject({ meetingId, reason: 'meeting ended' });
    expect(Date.parse(end!.timestamp)).toBeGreaterThanOrEqual(Date.parse(left!.timestamp));
  });

  it('answers a call at once while the receiver holds every request unanswered, and delivers its events once it answers again', { timeout: 60_000 }, async () => {
    const meetingId = 'hooked-dead-receiver';
    const credentials = await meetingWithCredential(meetingId);
    receiver.otherwise = 'hang';
    const dialled = performance.now();
    const call = await RtpCall.dial(target.sipAddress, meetingId, credentials);
    calls.push(call);
    const setUpMs = performance.now() - dialled;
    expect(call.statusLine).toMatch(/^SIP\/2\.0 200 /);
    // An attempt is cut off only after 5 s; the set-up took a fraction of that, its ringing event's request held all along.
    expect(setUpMs).toBeLessThan(4000);
    const heldTypes = () => receiver.requests.filter(({ answer, body }) => answer === 'hang' && body.includes(call.callId)).map(({ body }) => (JSON.parse(body) as WebhookEnvelope).type);
    await until(() => heldTypes().includes('call.ringing'), 2000, 'the ringing event held by the receiver');

    receiver.otherwise = 204;
    await call.hangUp();
    await until(() => ['call.ringing', 'call.answered', 'call.ended'].every((type) => callEvents(call.callId).some((event) => event.type === type)), 20_000, 'the held events, retried');
  });
});

describe('webhooks waiting in Redis', () => {
  it('are delivered by the next gateway when the one that queued them stopped before its receiver answered', { timeout: 60_000 }, async () => {
    const ownRedis = await spawnRedisServer();
    const port = await freeTcpPort();
    const env = { REDIS_URL: ownRedis.url, WEBHOOK_URL: `http://127.0.0.1:${port}/gateway-events`, WEBHOOK_SECRET: SECRET, RTP_MIN_PORT: '46200', RTP_MAX_PORT: '46249' };
    const admin = new Redis(ownRedis.url);
    let later: WebhookReceiver | undefined;
    let first: Gateway | undefined;
    let next: Gateway | undefined;
    try {
      // Nothing listens on the port yet: every attempt is refused.
      first = await startTestGateway(env);
      await requestJson(`${first.httpUrl}/api`, 'POST', '/meetings', { id: 'outlived' });
      await requestJson(`${first.httpUrl}/api`, 'DELETE', '/meetings/outlived');
      const firstUrl = first.httpUrl;
      await until(
        async () => parsePrometheusText(await (await fetch(`${firstUrl}/metrics`)).text()).value('gateway_webhook_deliveries_total', { outcome: 'retrying' }) >= 1,
        10_000,
        'a failed attempt',
      );
      await first.close();
      first = undefined;
      const waiting = (await admin.hvals('gw:webhooks')).map((json) => JSON.parse(json) as { id: string; type: string; attempts: number });
      expect(waiting).toHaveLength(1);
      expect(waiting[0]).toMatchObject({ type: 'meeting.ended' });
      expect(waiting[0]!.attempts).toBeGreaterThanOrEqual(1);

      later = await WebhookReceiver.start(port);
      next = await startTestGateway(env);
      const receiving = later;
      await until(() => receiving.accepted().length === 1, 10_000, 'the event from the next gateway');
      const [event] = receiving.accepted();
      expect(event).toMatchObject({ id: waiting[0]!.id, type: 'meeting.ended', data: { meetingId: 'outlived' } });
      expect(WebhookReceiver.signedWith(SECRET, receiving.requests[0]!)).toBe(true);
      await until(async () => (await admin.hlen('gw:webhooks')) === 0, 5000, 'the delivered event to leave Redis');
    } finally {
      await first?.close();
      await next?.close();
      await later?.close();
      await admin.quit();
      await ownRedis.stop();
    }
  });
});
