/**
 * MAX_CALL_SECONDS on the wire, through drachtio (the stand-in, or a real drachtio-server
 * with DRACHTIO_SERVER_BIN) and a caller talking RTP: the gateway ends a call that is
 * still talking with a BYE whose Reason says why, and forgets it. (What silence and hold
 * do is driven by a clock in test/calls/call-limits.test.ts; a silent phone's BYE on the
 * wire is in test/e2e/faults-vanish.test.ts.)
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { header } from '../support/sip/sip-message.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let gateway: Gateway;
let identity: { username: string; password: string };
const calls: RtpCall[] = [];
const logs = capturedLogger('info');

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { MAX_CALL_SECONDS: '1', RTP_MIN_PORT: '43600', RTP_MAX_PORT: '43699' }, logs.log);
  await gateway.meetings.create({ id: 'capped' });
  identity = await gateway.sipCredentials.create({});
});

afterEach(async () => {
  await Promise.all(calls.splice(0).map((call) => call.close()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

it('ends a call still talking once MAX_CALL_SECONDS has passed, with a BYE carrying Reason Q.850 cause 16, and forgets it', async () => {
  const call = await RtpCall.dial(target.sipAddress, 'capped', identity);
  calls.push(call);
  expect(call.statusLine).toBe('SIP/2.0 200 OK');
  const answeredAt = performance.now();
  await until(() => call.packetsSince(answeredAt) > 5, 3000, 'the meeting heard by the caller');

  const bye = await call.byeFromGateway(3000);
  const afterMs = performance.now() - answeredAt;
  expect(afterMs).toBeGreaterThanOrEqual(900);
  expect(afterMs).toBeLessThan(2500);
  expect(header(bye.text, 'Reason')).toBe('Q.850;cause=16;text="maximum call duration of 1 s reached"');
  await until(() => !gateway.sip.calls.has(call.callId), 2000, 'the call gone from the gateway');
  expect(logs.lines().filter((line) => line.msg === 'call ended' && line.callId === call.callId)).toEqual([
    expect.objectContaining({ state: 'answered', endedBy: 'gateway', reason: 'maximum call duration of 1 s reached', cause: 16 }),
  ]);
});
