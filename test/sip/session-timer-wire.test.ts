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
});
