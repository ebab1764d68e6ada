/**
 * Recordings 01 (connect, route, ping) and 01b (wrong secret): what drachtio-srf and a raw
 * wire client get on the admin connection. Frames split across TCP writes and packed into
 * one write must be handled like single frames.
 * Runs against the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS is set.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/drachtio-standin/wire-codec.js';
import { drachtioTarget, type DrachtioTarget } from '../support/sip/drachtio-target.js';
import { event, loadRecording } from '../support/sip/recordings.js';
import { ScenarioApp } from '../support/sip/scenario-app.js';
import { WireClient } from '../support/sip/wire-client.js';
import { WireRecorder } from '../support/sip/wire-recorder.js';

describe('drachtio admin handshake', () => {
  let target: DrachtioTarget;
  const cleanups: Array<() => unknown> = [];

  beforeEach(async () => {
    target = await drachtioTarget();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await target.close();
  });

  it('01: drachtio-srf connects, authenticates and routes; the reply lists hostports and a version', async () => {
    const recorder = await WireRecorder.start(target.adminAddress);
    cleanups.push(() => recorder.close());
    const app = await ScenarioApp.connect(recorder.address, target.secret);
    cleanups.push(() => app.disconnect());
    await recorder.waitFor((f) => f.direction === 'from-server' && f.message.args[1] === 'OK' && f.message.args.length === 2);
    const recorded = loadRecording('01-connect');
    const auth = recorder.frames.find((f) => f.message.type === 'authenticate')!;
    expect(auth.body).toMatch(new RegExp(`^[0-9a-f-]{36}\\|authenticate\\|${target.secret}\\|$`));
    expect(event(recorded, 'W1').text).toMatch(/^\d+#[0-9a-f-]{36}\|authenticate\|cymru\|$/);
    const reply = recorder.frames.find((f) => f.message.type === 'response' && f.message.args[0] === auth.message.id)!;
    const [, status, hostports, version, localHostports] = reply.message.args;
    expect(status).toBe('OK');
    const sip = `${target.sipAddress.host}:${target.sipAddress.port}`;
    expect(hostports).toBe(`tcp/${sip},udp/${sip}`);
    expect(localHostports).toBe(hostports);
    expect(version).toMatch(/^v\d+\.\d+\.\d+/);
    expect(reply.message.args).toHaveLength(event(recorded, 'W2').text!.split('|').length - 2);
    const routes = recorder.frames.filter((f) => f.message.type === 'route').map((f) => f.message.args.join('|'));
    expect(routes).toEqual(['options', 'invite']);
    for (const route of recorder.frames.filter((f) => f.message.type === 'route')) {
      const ok = recorder.frames.find((f) => f.message.args[0] === route.message.id)!;
      expect(ok.body).toMatch(/^[0-9a-f-]{36}\|response\|[0-9a-f-]{36}\|OK$/);
    }
    for (const frame of recorder.frames) expect(frame.declaredLength).toBe(Buffer.byteLength(frame.body));
  });

  it('01: ping is answered OK|pong; frames split mid-prefix or packed into one write work', async () => {
    const client = await WireClient.open(target.adminAddress);
    cleanups.push(() => client.close());
    const auth = encodeFrame(`00000000-0000-4000-8000-000000000001|authenticate|${target.secret}|`);
    client.socket.write(auth.subarray(0, 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.socket.write(auth.subarray(1, 30));
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.socket.write(auth.subarray(30));
    await client.until(() => client.messages.length === 1);
    expect(client.messages[0]!.args.slice(0, 2)).toEqual(['00000000-0000-4000-8000-000000000001', 'OK']);
    client.socket.write(
      Buffer.concat([
        encodeFrame('00000000-0000-4000-8000-000000000002|route|options'),
        encodeFrame('00000000-0000-4000-8000-000000000003|ping'),
        encodeFrame('00000000-0000-4000-8000-000000000004|route|invite'),
      ]),
    );
    await client.until(() => client.messages.length === 4);
    expect(client.messages.slice(1).map((m) => [m.type, ...m.args])).toEqual([
      ['response', '00000000-0000-4000-8000-000000000002', 'OK'],
      ['response', '00000000-0000-4000-8000-000000000003', 'OK', 'pong'],
      ['response', '00000000-0000-4000-8000-000000000004', 'OK'],
    ]);
    const recordedPong = event(loadRecording('01-connect'), 'W8').text!;
    expect(recordedPong).toMatch(/\|response\|[0-9a-f-]{36}\|OK\|pong$/);
  });

  it('01b: a wrong secret gets "NO|incorrect secret" and the server closes the connection; drachtio-srf reports the failure', async () => {
    const client = await WireClient.open(target.adminAddress);
    cleanups.push(() => client.close());
    client.socket.write(encodeFrame('00000000-0000-4000-8000-00000000000a|authenticate|not-the-secret|'));
    await client.until(() => client.ended);
    expect(client.messages.map((m) => [m.type, ...m.args])).toEqual([['response', '00000000-0000-4000-8000-00000000000a', 'NO', 'incorrect secret']]);
    await expect(ScenarioApp.connect(target.adminAddress, 'not-the-secret')).rejects.toThrow('failed to authenticate to server');
  });

  it('a frame with a broken length prefix closes the connection', async () => {
    const client = await WireClient.open(target.adminAddress);
    cleanups.push(() => client.close());
    client.socket.write('12x#garbage');
    await client.until(() => client.ended || client.socket.destroyed);
    expect(client.messages).toEqual([]);
  });
});
