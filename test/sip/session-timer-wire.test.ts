/**
 * Session timers (RFC 4028) on the wire, driven by SIPp scenarios (test/sip/sipp/) through
 * drachtio (the stand-in, or a real drachtio-server with DRACHTIO_SERVER_BIN): 422 and a
 * retry, refreshes by UPDATE and re-INVITE, the gateway's own refreshes, and the BYE that
 * ends a session nobody refreshed. The gateway runs with SESSION_MIN_SE_SECONDS=2 so a
 * session can expire within a test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { type SippCallResult, runSippCall } from '../support/sip/sipp-scenario.js';

let target: DrachtioTarget;
let gateway: Gateway;
let identity: { username: string; password: string };

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, {
    SESSION_MIN_SE_SECONDS: '2',
    SESSION_EXPIRES_SECONDS: '4',
    RTP_MIN_PORT: '43700',
    RTP_MAX_PORT: '43799',
  });
  await gateway.meetings.create({ id: 'timer-room' });
  identity = await gateway.sipCredentials.create({});
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

function call(scenario: string, timeoutMs = 20_000): Promise<SippCallResult> {
  return runSippCall({ scenario, target: target.sipAddress, service: 'timer-room', ...identity, timeoutMs });
}

function expectCompleted(result: SippCallResult): void {
  expect(result.exitCode, `${result.errors}\n${result.messages}`).toBe(0);
}

describe('session timers (RFC 4028) as UAS', () => {
  it('ends a session its refresher never refreshes with a BYE carrying Reason Q.850 cause 102, at the interval minus a third', async () => {
    const result = await call('uac-session-expires.xml');
    expectCompleted(result);
    expect(result.logs).toContain('BYE Reason: Q.850;cause=102;text="session timer expired"');
    // 3 s asked: BYE 3 - min(32, 1) = 2 s after the 200 OK.
    expect(result.rtd.expiry).toBeGreaterThanOrEqual(1900);
    expect(result.rtd.expiry).toBeLessThan(3000);
  }, 30_000);

  it('answers 422 with our Min-SE to an interval below it, and 200 with Session-Expires and Require: timer once the caller raises it', async () => {
    const result = await call('uac-session-422.xml');
    expectCompleted(result);
    expect(result.logs).toContain('422 Min-SE: 2');
    expect(result.logs).toContain('200 OK Session-Expires: 2;refresher=uac Require:timer');
  }, 30_000);

  it('refuses an UPDATE asking for too short a session with 422, and accepts refreshes by UPDATE, answered 200 with the session headers (no body without SDP, an SDP answer with it), and keeps the call past the first expiry', async () => {
    const result = await call('uac-session-refresh-update.xml');
    expectCompleted(result);
    // A refresh below the minimum: the gateway's 422 on the stand-in; a real drachtio-server answers it itself (Min-SE 90).
    expect(result.logs).toMatch(/UPDATE too small 422 Min-SE: (2|90)/);
    expect(result.logs).toContain('UPDATE 200 Session-Expires: 90;refresher=uac Content-Length: 0');
    expect(result.logs).toMatch(/UPDATE with SDP 200 Session-Expires: 90;refresher=uac answer:m=audio \d+ RTP\/AVP 0/);
  }, 30_000);

  it('accepts refreshes by re-INVITE, with SDP and without, each 200 carrying the session headers, and keeps the call past the first expiry', async () => {
    const result = await call('uac-session-refresh-reinvite.xml');
    expectCompleted(result);
    expect(result.logs).toMatch(/re-INVITE 200 Session-Expires: 90;refresher=uac answer:m=audio/);
    expect(result.logs).toMatch(/offerless re-INVITE 200 Session-Expires: 90;refresher=uac offer:m=audio/);
  }, 30_000);

  it.each([
    ['UPDATE to a caller that asked it to refresh and allows UPDATE', 'uac-session-gateway-refreshes-update.xml'],
    ['re-INVITE to a caller without timer support behind a proxy that asked for a timer', 'uac-session-gateway-refreshes-reinvite.xml'],
  ])('refreshes the session itself at half the interval, by %s', async (_method, scenario) => {
    const result = await call(scenario);
    expectCompleted(result);
    expect(result.logs).toContain('200 OK Session-Expires: 4;refresher=uas');
    expect(result.logs.match(/from the gateway Session-Expires: 4;refresher=uac/g)).toHaveLength(2);
    // 4 s: the first refresh 2 s after the 200 OK.
    expect(result.rtd.refresh).toBeGreaterThanOrEqual(1900);
    expect(result.rtd.refresh).toBeLessThan(3000);
  }, 30_000);

  it('ends the call with a BYE carrying Reason Q.850 cause 102 when its own refresh is answered 481', async () => {
    const result = await call('uac-session-gateway-refresh-481.xml');
    expectCompleted(result);
    expect(result.logs).toContain('BYE Reason: Q.850;cause=102;text="session refresh answered 481"');
  }, 30_000);

  it('sends no Session-Expires to a phone that does not support session timers', async () => {
    const result = await call('uac-no-session-timer.xml');
    expectCompleted(result);
  }, 30_000);
});
