/**
 * SIGTERM as an orchestrator sends it, to the gateway as a real process
 * (`node --import tsx src/main.ts`) connected to the drachtio target: the first drains,
 * the second ends every call at once, and either way the process exits 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../bench/support/gateway-process.js';
import { requestJson } from '../support/json-api.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let gateway: GatewayProcess | undefined;
let peer: SipPeer | undefined;

beforeAll(async () => {
  target = await drachtioTarget();
});

afterEach(async () => {
  await gateway?.stop();
  await peer?.close();
  gateway = undefined;
  peer = undefined;
});

afterAll(async () => {
  await target.close();
});

interface LogLine {
  readonly msg?: string;
  readonly [key: string]: unknown;
}

/** The gateway process with its log lines parsed as they come. */
async function startProcess(env: Record<string, string>): Promise<{ process: GatewayProcess; logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const started = await startGatewayProcess(
    {
      DRACHTIO_ADDRESS: `${target.adminAddress.host}:${target.adminAddress.port}`,
      DRACHTIO_SECRET: target.secret,
      SIP_DOMAIN: target.sipAddress.host,
      RTP_MIN_PORT: '44900',
      RTP_MAX_PORT: '44999',
      LOG_LEVEL: 'info',
      // The page bundled for this test run: the checkout need not have run npm run build.
      WEB_ASSETS_DIR: inject('webAssetsDir'),
      ...env,
    },
    (line) => {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    },
  );
  gateway = started;
  return { process: started, logs };
}

const logged = (logs: LogLine[], msg: string) => () => logs.some((line) => line.msg === msg);

describe('the gateway process on SIGTERM', () => {
  // A Node process with tsx and a mediasoup worker takes seconds to start on a busy machine.
  const PROCESS_TEST_MS = 60_000;

  it('with nothing live, drains at once and exits 0', { timeout: PROCESS_TEST_MS }, async () => {
    const { process: gw, logs } = await startProcess({ DRAIN_SECONDS: '120' });
    process.kill(gw.pid, 'SIGTERM');
    const exit = await Promise.race([gw.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = logs.map((line) => line.msg);
    expect(messages).toContain('draining on SIGTERM; a second SIGTERM ends every call at once');
    expect(messages).toContain('drained: no call or participant left');
    expect(messages.at(-1)).toBe('gateway closed');
  });

  it('drains on the first SIGTERM (new calls 503, the live call goes on), ends the call with a BYE on the second, and exits 0', { timeout: PROCESS_TEST_MS }, async () => {
    const { process: gw, logs } = await startProcess({ DRAIN_SECONDS: '120' });
    await requestJson(gw.httpUrl, 'POST', '/api/meetings', { id: 'process-drain' });
    const identity = await requestJson<{ username: string; password: string }>(gw.httpUrl, 'POST', '/api/sip-credentials', { meetingId: 'process-drain' });
    const sip = await SipPeer.udp(target.sipAddress);
    peer = sip;
    const uri = `sip:process-drain@${target.sipAddress.host}:${target.sipAddress.port}`;
    const live = new SipCaller(sip, uri);
    live.invite({ body: PCMU_OFFER(30120) });
    const challenge = await sip.next(isResponse(401));
    live.ackFailure(challenge);
    live.invite({ body: PCMU_OFFER(30120), authorization: live.authorization(challenge, identity) });
    const answered = await sip.next(isFinalResponse, 10_000);
    expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
    live.inDialog(answered, 'ACK');
    // Up once the ACK is in: from then on it is a live call, not a set-up.
    await until(logged(logs, 'call answered'), 5000, 'the call up');

    process.kill(gw.pid, 'SIGTERM');
    await until(logged(logs, 'draining on SIGTERM; a second SIGTERM ends every call at once'), 5000, 'the drain logged');
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { down: string[] }).down).toEqual(['calls: draining']);
    const refusedCaller = new SipCaller(sip, uri);
    refusedCaller.invite({ body: PCMU_OFFER(30122) });
    const refused = await sip.next(isFinalResponse);
    refusedCaller.ackFailure(refused);
    expect(firstLine(refused.text)).toBe('SIP/2.0 503 Service Unavailable');
    expect(Number(header(refused.text, 'Retry-After'))).toBeGreaterThanOrEqual(5);

    // Still up: the call answers in its dialog while the drain waits for it.
    live.inDialog(answered, 'INFO', { body: 'Signal=1\r\nDuration=160\r\n' });
    expect(firstLine((await sip.next(isResponse(200, 'INFO'))).text)).toBe('SIP/2.0 200 OK');

    process.kill(gw.pid, 'SIGTERM');
    const bye = await sip.next(isRequest('BYE'), 5000);
    expect(header(bye.text, 'Reason')).toBe('Q.850;cause=16;text="gateway shutting down"');
    const exit = await Promise.race([gw.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = logs.map((line) => line.msg);
    expect(messages).toContain('shutting down now: ending every call');
    expect(logs.find((line) => line.msg === 'call ended' && line.state === 'answered')).toMatchObject({ meetingId: 'process-drain', endedBy: 'gateway', reason: 'gateway shutting down' });
    expect(messages.at(-1)).toBe('gateway closed');
  });
});
