/**
 * A real softphone (baresip) answering the meeting's dial-out, through drachtio (the
 * stand-in, or a real drachtio-server with DRACHTIO_SERVER_BIN) and the real gateway, with
 * a second baresip dialled in: each hears the other's tone through the meeting's mix.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { dominantFrequencyHz, isSilent } from '../support/audio/tone.js';
import { mixToMono, readWav } from '../support/audio/wav.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { BaresipPhone } from '../support/phone/baresip.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { until } from '../support/until.js';

const DIALLED_IN_HZ = 600;
const DIALLED_OUT_HZ = 1000;

let target: DrachtioTarget;
let gateway: Gateway;
const phones: BaresipPhone[] = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '47300', RTP_MAX_PORT: '47499' }, capturedLogger().log);
}, 30_000);

afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

async function phone(toneHz: number, credentials?: { username: string; password: string }): Promise<BaresipPhone> {
  const started = await BaresipPhone.start({ toneHz, codec: 'PCMU', ...credentials, sipServer: `${target.sipAddress.host}:${target.sipAddress.port}` });
  phones.push(started);
  return started;
}

/** The dominant frequency of the last second a phone heard before its call closed. */
async function lastSecondHeardHz(heard: BaresipPhone): Promise<number> {
  const { decoded, codec } = await heard.recordings();
  const samples = mixToMono(await readWav(decoded));
  const seconds = samples.length / codec.sampleRate;
  const lastSecond = { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 };
  expect(isSilent(samples, codec.sampleRate, lastSecond)).toBe(false);
  return dominantFrequencyHz(samples, codec.sampleRate, lastSecond);
}

describe('dialing out to a softphone', () => {
  it('baresip answers, is a phone participant, and it and a dialled-in phone hear each other', { timeout: 60_000 }, async () => {
    await api('POST', '/meetings', { id: 'dial-baresip' });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: 'dial-baresip' });
    const dialledIn = await phone(DIALLED_IN_HZ, credentials);
    await dialledIn.dial(`sip:dial-baresip@${target.sipAddress.host}:${target.sipAddress.port}`);
    await dialledIn.waitForEvent('CALL_ESTABLISHED', 10_000);

    const callee = await phone(DIALLED_OUT_HZ);
    const { callId } = await api<{ callId: string }>('POST', '/meetings/dial-baresip/dial-out', {
      to: `sip:phone@127.0.0.1:${callee.ports.sip}`,
      displayName: 'Baresip',
    });
    await callee.waitForEvent('CALL_INCOMING', 10_000);
    await callee.accept();
    await callee.waitForEvent('CALL_ESTABLISHED', 10_000);
    await until(async () => (await gateway.store.listCalls('dial-baresip')).length === 2, 5000, 'both calls up');
    const room = (await gateway.rooms.existing('dial-baresip'))!;
    expect(room.views().map((p) => p.displayName)).toContain('Baresip');
    await sleep(3000);

    // Both at once: the last second each recorded had the other in the meeting.
    await Promise.all([callee.hangup(), dialledIn.hangup()]);
    await Promise.all([callee.waitForEvent('CALL_CLOSED', 5000), dialledIn.waitForEvent('CALL_CLOSED', 5000)]);
    await until(async () => (await api<{ dialOut?: { state: string } }>('GET', `/calls/${callId}`)).dialOut?.state === 'ended', 3000, 'the dial-out ended');

    expect(Math.abs((await lastSecondHeardHz(dialledIn)) - DIALLED_OUT_HZ), 'the dialled-in phone hears the callee').toBeLessThanOrEqual(5);
    expect(Math.abs((await lastSecondHeardHz(callee)) - DIALLED_IN_HZ), 'the callee hears the dialled-in phone').toBeLessThanOrEqual(5);
  });
});
