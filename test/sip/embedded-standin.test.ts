/**
 * The drachtio-server stand-in the gateway embeds when DRACHTIO_ADDRESS is unset runs in a
 * thread of its own: SIP is answered through it, its log lines reach the gateway's logger
 * with their fields, and a thread that dies is logged at error, reported by /readyz and
 * restarted on the same port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { firstLine } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

let gateway: Gateway | undefined;
let peer: SipPeer | undefined;

afterEach(async () => {
  await peer?.close();
  await gateway?.close();
  peer = undefined;
  gateway = undefined;
});

async function readyz(url: string): Promise<{ status: number; down?: string[] }> {
  const response = await fetch(`${url}/readyz`);
  const { down } = (await response.json()) as { down?: string[] };
  return { status: response.status, down };
}

/** An OPTIONS to the gateway through the stand-in: the final response's status line. */
async function optionsAnswer(sipPeer: SipPeer, address: { host: string; port: number }, callId: string): Promise<string> {
  const uri = `sip:probe@${address.host}:${address.port}`;
  sipPeer.send(
    [`OPTIONS ${uri} SIP/2.0`, `Via: SIP/2.0/UDP ${sipPeer.hostport};rport;branch=z9hG4bK${callId}`, 'Max-Forwards: 70',
      'From: <sip:probe@127.0.0.1>;tag=1', `To: <${uri}>`, `Call-ID: ${callId}@test`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
  );
  return firstLine((await sipPeer.next(isFinalResponse)).text);
}

describe('the embedded drachtio-server stand-in', () => {
  it('answers SIP from a thread of its own and logs through the gateway\'s logger with its fields', { timeout: 30_000 }, async () => {
    const captured = capturedLogger();
    gateway = await startTestGateway({}, captured.log);
    const { httpUrl } = gateway;
    await until(async () => (await readyz(httpUrl)).status === 200, 10_000, 'the gateway connected to its stand-in');
    const address = gateway.sip.frontEnd.sipAddress!;
    peer = await SipPeer.udp(address);
    expect(await optionsAnswer(peer, address, 'threaded')).toBe('SIP/2.0 200 OK');

    const listening = captured.lines().find((line) => line.msg === 'drachtio stand-in listening');
    expect(listening).toMatchObject({ level: 30, component: 'drachtio-standin', service: 'sip-webrtc-gateway', sip: address });
    // Logged again on the gateway's thread, in the gateway's line format: one time, no pid.
    const raw = captured.text().split('\n').find((line) => line.includes('"msg":"drachtio stand-in listening"'))!;
    expect(raw.match(/"time":/g)).toHaveLength(1);
    expect(raw).not.toContain('"pid":');
    const received = captured.lines().find((line) => line.msg === 'SIP received' && (line.line as string | undefined)?.startsWith('OPTIONS '));
    expect(received).toMatchObject({ level: 10, component: 'drachtio-standin', source: { transport: 'udp' } });
    await gateway.close();
    gateway = undefined;
    await until(() => captured.lines().some((line) => line.msg === 'drachtio stand-in closed'), 3000, 'the stand-in\'s last line');
  });

  it('that dies is logged at error, reported by /readyz and restarted on the same port', { timeout: 30_000 }, async () => {
    const captured = capturedLogger();
    gateway = await startTestGateway({}, captured.log);
    const { httpUrl } = gateway;
    await until(async () => (await readyz(httpUrl)).status === 200, 10_000, 'the gateway connected to its stand-in');
    const address = gateway.sip.frontEnd.sipAddress!;

    gateway.sip.frontEnd.embeddedStandin!.crash();
    await until(async () => (await readyz(httpUrl)).status === 503, 3000, '/readyz to report SIP down');
    expect((await readyz(httpUrl)).down).toEqual(['sip: the embedded drachtio-server stand-in is down (its thread exited with code 70); restarting it']);
    const died = captured.lines().filter((line) => line.msg === 'the embedded drachtio-server stand-in died; restarting it on the same ports');
    expect(died).toMatchObject([{ level: 50, component: 'sip', reason: 'exited with code 70' }]);

    // drachtio-srf reconnects by itself (backoff up to 5 s) once the stand-in is back.
    await until(async () => (await readyz(httpUrl)).status === 200, 15_000, 'the gateway connected to the restarted stand-in');
    expect(gateway.sip.frontEnd.sipAddress).toEqual(address);
    peer = await SipPeer.udp(address);
    // The stand-in answers 503 until drachtio-srf has routed OPTIONS again, just after connecting.
    let probe = 0;
    const sipPeer = peer;
    await until(async () => (await optionsAnswer(sipPeer, address, `restarted-${probe++}`)) === 'SIP/2.0 200 OK', 3000, 'OPTIONS answered through the restarted stand-in');
  });
});
