/**
 * Call admission through the whole gateway (drachtio stand-in, or a real drachtio-server
 * with DRACHTIO_SERVER_BIN): a drain refuses new calls while live ones go on until
 * DRAIN_SECONDS, and set-ups beyond SIP_MAX_SETUPS_IN_FLIGHT are shed with 503, in both
 * cases before any authentication or media work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { SignalingTestClient } from '../support/signaling-client.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { type SipRequest, firstLine, header, parseSipMessage, responseTo } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

const PORTS = { RTP_MIN_PORT: '44800', RTP_MAX_PORT: '44899' };

let target: DrachtioTarget;
let gateway: Gateway | undefined;
let peer: SipPeer | undefined;
const browsers: SignalingTestClient[] = [];

beforeAll(async () => {
  target = await drachtioTarget();
});

afterEach(async () => {
  for (const browser of browsers.splice(0)) browser.socket.close();
  await gateway?.close();
  await peer?.close();
  gateway = undefined;
  peer = undefined;
});

afterAll(async () => {
  await target.close();
});

const uriOf = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;

async function start(env: Record<string, string>, log = capturedLogger().log) {
  const started = await startSipTestGateway(target, { ...PORTS, ...env }, log);
  gateway = started;
  peer = await SipPeer.udp(target.sipAddress);
  const identity = await started.sipCredentials.create({});
  const sipPeer = peer;
  /** Challenged, then sent again with credentials: the final response to that. */
  const authenticatedInvite = async (caller: SipCaller, body: string | undefined): Promise<ReceivedSip> => {
    caller.invite(body === undefined ? {} : { body });
    const challenge = await sipPeer.next(isResponse(401));
    caller.ackFailure(challenge);
    caller.invite({ ...(body === undefined ? {} : { body }), authorization: caller.authorization(challenge, identity) });
    return sipPeer.next(isFinalResponse);
  };
  return { gateway: started, peer: sipPeer, authenticatedInvite };
}

async function joinBrowser(gw: Gateway, meetingId: string): Promise<SignalingTestClient> {
  const browser = await SignalingTestClient.connect(`${gw.httpUrl.replace('http', 'ws')}/ws/meetings/${meetingId}`);
  browsers.push(browser);
  const { rtpCapabilities } = await browser.request('getRouterRtpCapabilities', {});
  await browser.request('join', { displayName: 'Browser', rtpCapabilities });
  return browser;
}

async function readyz(gw: Gateway): Promise<{ status: number; body: { status: string; down?: string[] } }> {
  const response = await fetch(`${gw.httpUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

/** Nothing was opened for a meeting: no room (so no router, transport, RTP port or mixer) and no call record. */
async function expectNothingAllocatedFor(gw: Gateway, meetingId: string): Promise<void> {
  expect(await gw.rooms.existing(meetingId)).toBeUndefined();
  expect(await gw.store.listCalls(meetingId)).toEqual([]);
  const routers = await Promise.all(gw.workers.workers.map(async (worker) => (await worker.dump()).routerIds.length));
  // Only the live meeting's router, if any.
  expect(routers.reduce((sum, n) => sum + n, 0)).toBe(gw.rooms.count);
}

function expectServiceUnavailable(response: ReceivedSip, warning: RegExp, retryAfterBase: number): void {
  expect(firstLine(response.text)).toBe('SIP/2.0 503 Service Unavailable');
  const retryAfter = Number(header(response.text, 'Retry-After'));
  expect(retryAfter).toBeGreaterThanOrEqual(retryAfterBase);
  expect(retryAfter).toBeLessThanOrEqual(retryAfterBase * 1.5);
  expect(header(response.text, 'Warning')).toMatch(warning);
}

describe('drain', () => {
  it('refuses new INVITEs with 503 + Retry-After before authentication, says draining on /readyz, lets a live call and a browser go on, then BYEs the call and tells the browser when DRAIN_SECONDS has passed', async () => {
    const captured = capturedLogger();
    const { gateway: gw, peer: sip, authenticatedInvite } = await start({ DRAIN_SECONDS: '3', SIP_RETRY_AFTER_SECONDS: '20' }, captured.log);
    await gw.meetings.create({ id: 'drain-live' });
    await gw.meetings.create({ id: 'drain-new' });
    const live = new SipCaller(sip, uriOf('drain-live'));
    const answered = await authenticatedInvite(live, PCMU_OFFER(30100));
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    live.inDialog(answered, 'ACK');
    // Its set-up is over once the ACK is in and the caller has joined the meeting.
    await until(() => gw.admission.setupsInFlight === 0, 3000, 'the live call up');
    const browser = await joinBrowser(gw, 'drain-live');

    const drain = await fetch(`${gw.httpUrl}/api/admin/drain`, { method: 'POST' });
    const drainStartedAt = Date.now();
    expect(drain.status).toBe(202);
    expect(await drain.json()).toMatchObject({ state: 'draining', setupsInFlight: 0, calls: 1, participants: 2 });
    const ready = await readyz(gw);
    expect(ready.status).toBe(503);
    expect(ready.body.down).toEqual(['calls: draining']);

    // No credentials: a 401 would mean the authenticator ran; the drain answers first.
    const refusedCaller = new SipCaller(sip, uriOf('drain-new'));
    refusedCaller.invite({ body: PCMU_OFFER(30102) });
    const refused = await sip.next(isFinalResponse);
    refusedCaller.ackFailure(refused);
    expectServiceUnavailable(refused, /^399 127\.0\.0\.1 "draining: this gateway is shutting down; try again later"$/, 20);
    await expectNothingAllocatedFor(gw, 'drain-new');
    expect(gw.admission.state().refused).toEqual({ draining: 1, overloaded: 0 });
    // A SIP front's probe is told the same, so it stops sending calls here; it is not a refused call.
    const probe = new SipCaller(sip, `sip:${target.sipAddress.host}:${target.sipAddress.port}`);
    probe.options();
    expectServiceUnavailable(await sip.next(isFinalResponse), /^399 127\.0\.0\.1 "draining: this gateway is shutting down; try again later"$/, 20);
    expect(gw.admission.state().refused).toEqual({ draining: 1, overloaded: 0 });

    // The live call goes on: it still answers in the dialog.
    live.inDialog(answered, 'INFO', { body: 'Signal=5\r\nDuration=160\r\n' });
    expect(firstLine((await sip.next(isResponse(200, 'INFO'))).text)).toBe('SIP/2.0 200 OK');
    expect(gw.sip.calls.has(live.callId)).toBe(true);
    expect(browser.socket.readyState).toBe(browser.socket.OPEN);

    const bye = await sip.next(isRequest('BYE'), 8000);
    sip.send(responseTo(parseSipMessage(bye.text) as SipRequest, 200, 'OK'));
    expect(Date.now() - drainStartedAt).toBeGreaterThanOrEqual(2500);
    expect(header(bye.text, 'Call-ID')).toBe(live.callId);
    expect(header(bye.text, 'Reason')).toBe('Q.850;cause=16;text="gateway draining"');
    expect(await browser.notification('serverClosing')).toEqual({ reason: 'this meeting server is restarting; rejoin to continue' });
    expect(await browser.closed).toEqual({ code: 1001, reason: 'this meeting server is restarting; rejoin to continue' });

    await gw.whenClosed();
    expect(gw.sip.calls.size).toBe(0);
    const messages = captured.lines().map((line) => line.msg);
    expect(messages).toContain('draining: new calls refused, live calls go on until they end or the drain time is up');
    expect(captured.lines().find((line) => line.msg === 'drain time is up: ending what is left')).toMatchObject({ calls: 1, participants: 2 });
    expect(captured.lines().find((line) => line.msg === 'call ended' && line.state === 'answered')).toMatchObject({ callId: live.callId, meetingId: 'drain-live', endedBy: 'gateway', reason: 'gateway draining' });
  });

  it('closes as soon as the last call ends, long before DRAIN_SECONDS, and a second drain request only reports it', async () => {
    const captured = capturedLogger();
    const { gateway: gw, peer: sip, authenticatedInvite } = await start({ DRAIN_SECONDS: '120' }, captured.log);
    await gw.meetings.create({ id: 'drain-early' });
    const live = new SipCaller(sip, uriOf('drain-early'));
    const answered = await authenticatedInvite(live, PCMU_OFFER(30104));
    live.inDialog(answered, 'ACK');

    const first = (await (await fetch(`${gw.httpUrl}/api/admin/drain`, { method: 'POST' })).json()) as { startedAt: string; deadline: string };
    const again = await fetch(`${gw.httpUrl}/api/admin/drain`, { method: 'POST' });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ startedAt: first.startedAt, deadline: first.deadline });

    live.inDialog(answered, 'BYE');
    await sip.next(isResponse(200, 'BYE'));
    const byeSentAt = Date.now();
    await gw.whenClosed();
    expect(Date.now() - byeSentAt).toBeLessThan(5000);
    expect(captured.lines().map((line) => line.msg)).toContain('drained: no call or participant left');
  });
});

describe('overload', () => {
  it('with SIP_MAX_SETUPS_IN_FLIGHT=1 and a set-up held open, a second INVITE gets 503 + Retry-After and nothing is allocated for it; once the set-up completes, calls are taken again', async () => {
    const { gateway: gw, peer: sip, authenticatedInvite } = await start({ SIP_MAX_SETUPS_IN_FLIGHT: '1', SIP_RETRY_AFTER_SECONDS: '5' });
    await gw.meetings.create({ id: 'overload-held' });
    await gw.meetings.create({ id: 'overload-refused' });
    // A late offer's set-up lasts until the caller's ACK brings its answer: held open until then.
    const held = new SipCaller(sip, uriOf('overload-held'));
    const offered = await authenticatedInvite(held, undefined);
    expect(firstLine(offered.text)).toBe('SIP/2.0 200 OK');
    expect(gw.admission.setupsInFlight).toBe(1);

    const refusedCaller = new SipCaller(sip, uriOf('overload-refused'));
    refusedCaller.invite({ body: PCMU_OFFER(30112) });
    const refused = await sip.next(isFinalResponse);
    refusedCaller.ackFailure(refused);
    expectServiceUnavailable(refused, /^399 127\.0\.0\.1 "overloaded: 1 call set-ups in flight \(SIP_MAX_SETUPS_IN_FLIGHT 1\)"$/, 5);
    await expectNothingAllocatedFor(gw, 'overload-refused');
    expect(gw.admission.state().refused).toEqual({ draining: 0, overloaded: 1 });
    const ready = await readyz(gw);
    expect(ready.status).toBe(503);
    expect(ready.body.down).toEqual(['calls: overloaded: 1 call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT 1)']);

    // The held call is not disturbed: its ACK completes it, and the slot is free again.
    held.inDialog(offered, 'ACK', { body: PCMU_OFFER(30110) });
    await until(async () => (await gw.store.listCalls('overload-held')).length === 1, 3000, 'the held call recorded after its ACK');
    await until(() => gw.admission.setupsInFlight === 0, 3000, 'the set-up no longer in flight');
    expect((await readyz(gw)).status).toBe(200);
    const next = new SipCaller(sip, uriOf('overload-refused'));
    const answered = await authenticatedInvite(next, PCMU_OFFER(30114));
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    next.inDialog(answered, 'ACK');
    expect(gw.sip.calls.size).toBe(2);

    held.inDialog(offered, 'BYE');
    await sip.next(isResponse(200, 'BYE'));
    next.inDialog(answered, 'BYE');
    await sip.next(isResponse(200, 'BYE'));
  });
});
