/**
 * The gateway's connection to drachtio lost under a live call, with the real processes:
 * the real drachtio-server when DRACHTIO_SERVER_BIN is set, otherwise the stand-in, a
 * mediasoup worker and a SIP caller talking RTP. Either drachtio itself is gone and
 * started again on the same ports (SIGKILLed, or the stand-in stopped), knowing no dialog
 * from before, or only the link is cut (a TCP proxy between them) and drachtio keeps its
 * dialogs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { udpPortFree } from '../support/free-port.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, type RestartableDrachtio, drachtioTarget, restartableDrachtio } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';

let drachtio: RestartableDrachtio;
let gateway: Gateway;
const gatewayLog = capturedLogger();
const calls: RtpCall[] = [];
/** The second setting: drachtio behind a proxy whose link is cut. */
let proxied: { drachtio: DrachtioTarget; proxy: TcpProxy; gateway: Gateway; log: ReturnType<typeof capturedLogger> } | undefined;

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  drachtio = await restartableDrachtio();
  gateway = await startSipTestGateway(drachtio, { RTP_MIN_PORT: '44800', RTP_MAX_PORT: '44999', EMPTY_ROOM_GRACE_SECONDS: '600' }, gatewayLog.log);
}, 60_000);

afterEach(async () => {
  await Promise.all(calls.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await gateway?.close();
  await drachtio?.close();
  await proxied?.gateway.close();
  await proxied?.proxy.close();
  await proxied?.drachtio.close();
});

async function readiness(of = gateway): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await fetch(`${of.httpUrl}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, string> }).checks };
}

const logged = (msg: string, log = gatewayLog) => log.lines().filter((line) => line.msg === msg);

describe('drachtio lost and started again on the same ports', () => {
  it('the gateway reports sip down, reconnects with backoff, ends the call whose dialog is gone (once, media released) and answers new calls', { timeout: 60_000 }, async () => {
    const meetingId = 'drachtio-restart';
    await api('POST', '/meetings', { id: meetingId });
    const identity = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
    const call = await RtpCall.dial(drachtio.sipAddress, meetingId, identity);
    calls.push(call);
    expect(call.statusLine).toBe('SIP/2.0 200 OK');
    await until(() => call.packetsSince(0) > 10, 3000, 'the phone hearing the meeting');
    const room = (await gateway.rooms.existing(meetingId))!;
    const transportsWithCall = (await room.router.dump()).transportIds.length;
    expect(transportsWithCall).toBeGreaterThan(0);

    await drachtio.kill();
    await until(async () => (await readiness()).status === 503, 3000, '/readyz to report sip down');
    expect((await readiness()).checks).toMatchObject({ sip: 'not connected to drachtio-server', store: 'ok', mediasoup: 'ok' });
    // Down long enough for a few attempts, each waiting longer than the one before.
    await until(() => logged('reconnecting to drachtio-server').length >= 3, 5000, 'three reconnection attempts');
    const delays = logged('reconnecting to drachtio-server').map((line) => (line.retry as { delay: number }).delay);
    expect(delays[1]).toBeGreaterThan(delays[0]!);
    expect(delays[2]).toBeGreaterThan(delays[1]!);
    expect((await readiness()).status).toBe(503);
    // The call's media is untouched while drachtio is away: nothing knows yet whether its dialog survives.
    expect(gateway.sip.calls.has(call.callId)).toBe(true);

    await drachtio.restart();
    await until(async () => (await readiness()).status === 200, 10_000, '/readyz to report sip back');

    // The restarted drachtio knows no dialog from before: the call ends, its media is released.
    await until(() => !gateway.sip.calls.has(call.callId), 5000, 'the call whose dialog is gone ended');
    expect(logged('dialogs from before the reconnection reconciled')).toMatchObject([{ kept: 0, ended: 1 }]);
    expect(logged('call ended').filter((line) => line.callId === call.callId && line.status !== 401)).toHaveLength(1);
    expect(await gateway.store.listCalls(meetingId)).toEqual([]);
    await until(() => room.size === 0, 2000, 'the phone gone from the room');
    await until(async () => (await room.router.dump()).transportIds.length === 0, 2000, 'the call\'s transports closed');
    await until(() => udpPortFree(call.gatewayRtpPort), 2000, 'the call\'s RTP port released');
    expect((await api<{ participants: unknown[] }>('GET', `/meetings/${meetingId}`)).participants).toEqual([]);

    // New calls are answered through the restarted drachtio.
    const next = await RtpCall.dial(drachtio.sipAddress, meetingId, identity);
    calls.push(next);
    expect(next.statusLine).toBe('SIP/2.0 200 OK');
    const answeredAt = performance.now();
    await until(() => next.packetsSince(answeredAt) > 10, 3000, 'the new call hearing the meeting');
    expect(gateway.sip.calls.size).toBe(1);
    await next.hangUp();
    await until(() => gateway.sip.calls.size === 0, 2000, 'the new call ended');
  });
});

/** drachtio behind a TCP proxy, and a gateway connected through it; one for the describe below. */
async function behindProxy(): Promise<NonNullable<typeof proxied>> {
  if (proxied) return proxied;
  const target = await drachtioTarget();
  const proxy = await startTcpProxy(target.adminAddress);
  const log = capturedLogger();
  const viaProxy = { ...target, adminAddress: { host: '127.0.0.1', port: proxy.port } };
  proxied = { drachtio: target, proxy, log, gateway: await startSipTestGateway(viaProxy, { RTP_MIN_PORT: '45000', RTP_MAX_PORT: '45199' }, log.log) };
  return proxied;
}

describe('the link to drachtio cut while drachtio keeps its dialogs', () => {
  it('the gateway reconnects, keeps the call whose dialog is still there (once), and can still end it', { timeout: 60_000 }, async () => {
    const { drachtio: target, proxy, log, gateway: proxiedGateway } = await behindProxy();
    const meetingId = 'drachtio-link-cut';
    const base = `${proxiedGateway.httpUrl}/api`;
    await requestJson(base, 'POST', '/meetings', { id: meetingId });
    const identity = await requestJson<{ username: string; password: string }>(base, 'POST', '/sip-credentials', { meetingId });
    const call = await RtpCall.dial(target.sipAddress, meetingId, identity);
    calls.push(call);
    expect(call.statusLine).toBe('SIP/2.0 200 OK');
    await until(() => call.packetsSince(0) > 10, 3000, 'the phone hearing the meeting');

    proxy.cut();
    // Down, then back through the proxy; the call's dialog is probed in it, and the phone answers.
    const probe = await call.answerRequest('OPTIONS', 10_000);
    expect(probe.text).toMatch(new RegExp(`^Call-ID: ${call.callId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\r$`, 'm'));
    expect(logged('lost drachtio-server; reconnecting', log)).toHaveLength(1);
    await until(async () => (await readiness(proxiedGateway)).status === 200, 5000, '/readyz to report sip back');
    await until(() => logged('dialogs from before the reconnection reconciled', log).length === 1, 3000, 'the dialogs reconciled');
    expect(logged('dialogs from before the reconnection reconciled', log)).toMatchObject([{ kept: 1, ended: 0 }]);

    expect([proxiedGateway.sip.calls.size, proxiedGateway.sip.calls.has(call.callId)]).toEqual([1, true]);
    expect((await proxiedGateway.store.listCalls(meetingId)).map((c) => c.callId)).toEqual([call.callId]);
    const from = performance.now();
    await until(() => call.packetsSince(from) > 10, 3000, 'the kept call still hearing the meeting');

    // The kept dialog works on the new connection: ending the meeting BYEs the caller.
    await requestJson(base, 'DELETE', `/meetings/${meetingId}`);
    const bye = await call.byeFromGateway(3000);
    expect(bye.text).toMatch(/^BYE /);
    await until(() => proxiedGateway.sip.calls.size === 0, 2000, 'the call ended');
    expect(logged('call ended', log).filter((line) => line.callId === call.callId && line.status !== 401)).toHaveLength(1);
    expect(await proxiedGateway.store.listCalls(meetingId)).toEqual([]);
  });

  it('a call whose 200 OK drachtio sent but never confirmed (the link cut in between) ends and releases its media', { timeout: 60_000 }, async () => {
    const { drachtio: target, proxy, log, gateway: proxiedGateway } = await behindProxy();
    const meetingId = 'drachtio-cut-answering';
    const base = `${proxiedGateway.httpUrl}/api`;
    await requestJson(base, 'POST', '/meetings', { id: meetingId });
    const identity = await requestJson<{ username: string; password: string }>(base, 'POST', '/sip-credentials', { meetingId });
    await until(async () => (await readiness(proxiedGateway)).status === 200, 5000, 'sip up');

    // drachtio's news that it sent our 200 OK is lost with the link.
    proxy.cutOnReply((data) => data.includes('SIP/2.0 200 OK') && / INVITE\r\n/.test(data));
    const call = await RtpCall.dial(target.sipAddress, meetingId, identity);
    calls.push(call);
    expect(call.statusLine).toBe('SIP/2.0 200 OK');

    await until(() => proxiedGateway.sip.calls.size === 0, 5000, 'the call that never learnt of its dialog ended');
    expect(logged('call ended', log).filter((line) => line.callId === call.callId && line.status !== 401)).toMatchObject([{ reason: 'lost drachtio-server before it confirmed our 200 OK' }]);
    expect(await proxiedGateway.store.listCalls(meetingId)).toEqual([]);
    const room = await proxiedGateway.rooms.existing(meetingId);
    await until(() => (room?.size ?? 0) === 0, 2000, 'the phone gone from the room');
    if (room) await until(async () => (await room.router.dump()).transportIds.length === 0, 2000, 'the call\'s transports closed');
    await until(() => udpPortFree(call.gatewayRtpPort), 2000, 'the call\'s RTP port released');
    await until(async () => (await readiness(proxiedGateway)).status === 200, 10_000, 'sip back');
  });
});
