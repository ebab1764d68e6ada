/**
 * Softphones a user might pick, dialing into a meeting on the gateway's default settings
 * (nothing about digest algorithms or codecs is configured here): linphone (liblinphone
 * 5.1) and twinkle 1.10, through drachtio (the stand-in, or a real drachtio-server when
 * DRACHTIO_SERVER_BIN or TEST_DRACHTIO_ADDRESS is set), with a real browser in the meeting.
 * baresip's own tests (sip-dial-in.test.ts) run on the defaults too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { SipCall } from '../../src/sip/sip-leg.js';
import { dominantFrequencyHz, isSilent, toneLevelDbfs } from '../support/audio/tone.js';
import { mixToMono } from '../support/audio/wav.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { measureRemoteToneHz, openMeetingPage, readMeeting, waitForMeetingState, waitForRemoteAudio } from '../support/browser/meeting-page.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { type LinphoneCodec, LinphonePhone, type LinphonePhoneOptions } from '../support/phone/linphone.js';
import { HEARD_SAMPLE_RATE, TwinklePhone } from '../support/phone/twinkle.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { until } from '../support/until.js';

const PHONE_HZ = 1000;
const BROWSER_HZ = 600;

let target: DrachtioTarget;
let gateway: Gateway;
const gatewayLog = capturedLogger();
let browser: LaunchedChromium;
const stops: Array<() => Promise<void>> = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

const sipServer = () => `${target.sipAddress.host}:${target.sipAddress.port}`;
const sipUri = (meetingId: string) => `sip:${meetingId}@${sipServer()}`;

async function linphone(options: Omit<LinphonePhoneOptions, 'sipServer'>): Promise<LinphonePhone> {
  const phone = await LinphonePhone.start({ ...options, sipServer: sipServer() });
  stops.push(() => phone.stop());
  return phone;
}

/** A meeting, a credential scoped to it, and a browser that has joined it. */
async function meetingWithBrowser(meetingId: string) {
  await api('POST', '/meetings', { id: meetingId });
  const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
  const page = await browser.newPage();
  stops.push(() => page.close());
  await openMeetingPage(page, gateway.httpUrl, meetingId, 'Browser');
  await waitForMeetingState(page, 'joined');
  return { credentials, page };
}

/** The gateway's side of the one call in the meeting, once it is up (recorded at the phone's ACK). */
async function gatewayCall(meetingId: string): Promise<SipCall> {
  await until(async () => (await gateway.store.listCalls(meetingId)).length > 0, 5000, `a call up in ${meetingId}`);
  const [record] = await gateway.store.listCalls(meetingId);
  const call = record && gateway.sip.calls.get(record.callId);
  if (!call) throw new Error(`no call in ${meetingId}`);
  return call;
}

/** The codec the gateway answered the meeting's call with, from its log. */
function answeredCodec(meetingId: string): unknown {
  return gatewayLog.lines().find((line) => line.msg === 'call answered' && line.meetingId === meetingId)?.codec;
}

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '44400', RTP_MAX_PORT: '44599' }, gatewayLog.log);
  browser = await launchChromium({ toneHz: BROWSER_HZ });
}, 60_000);

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await target?.close();
});

describe.each<LinphoneCodec>(['PCMU', 'G722', 'opus'])('linphone dialing in with %s on the default settings', (codec) => {
  it('authenticates, is heard in the meeting, hears it, and its RFC 4733 DTMF arrives', { timeout: 60_000 }, async () => {
    const meetingId = `linphone-${codec.toLowerCase()}`;
    const { credentials, page } = await meetingWithBrowser(meetingId);
    const phone = await linphone({ ...credentials, codec, toneHz: PHONE_HZ });
    await phone.dial(sipUri(meetingId));
    await phone.waitForCall('StreamsRunning');
    expect(answeredCodec(meetingId)).toBe(codec);
    expect(await phone.log(), 'linphone answered the MD5 challenge').toMatch(/^Authorization:\s+Digest [^\n]*algorithm=MD5/im);
    const call = await gatewayCall(meetingId);

    await waitForRemoteAudio(page, 1, 15_000);
    const heard = await measureRemoteToneHz(page);
    expect(heard, `browser heard ${heard} Hz from linphone in ${codec}`).not.toBeNull();
    expect(Math.abs(heard! - PHONE_HZ)).toBeLessThanOrEqual(5);

    const digits: string[] = [];
    call.signaling.dtmf.on('digit', ({ digit, source }) => digits.push(`${digit}:${source}`));
    await phone.sendDtmf('19#');
    await until(() => digits.length === 3, 5000, 'three DTMF digits');
    expect(digits).toEqual(['1:rfc4733', '9:rfc4733', '#:rfc4733']);

    await phone.hangup();
    await call.whenEnded();
    const recording = await phone.recording();
    const samples = mixToMono(recording);
    const seconds = samples.length / recording.sampleRate;
    const lastSecond = { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 };
    expect(isSilent(samples, recording.sampleRate, lastSecond), `linphone (${codec}) heard silence`).toBe(false);
    const phoneHeard = dominantFrequencyHz(samples, recording.sampleRate, lastSecond);
    expect(Math.abs(phoneHeard - BROWSER_HZ), `linphone (${codec}) heard ${phoneHeard} Hz`).toBeLessThanOrEqual(5);
    await until(async () => (await gateway.store.listCalls(meetingId)).length === 0, 5000, 'call record removed');
  });
});

describe('linphone DTMF as SIP INFO (use_info=1)', () => {
  it('reaches the gateway as INFO digits', { timeout: 30_000 }, async () => {
    const meetingId = 'linphone-info';
    await api('POST', '/meetings', { id: meetingId });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
    const phone = await linphone({ ...credentials, codec: 'PCMU', toneHz: PHONE_HZ, dtmf: 'sip-info' });
    await phone.dial(sipUri(meetingId));
    await phone.waitForCall('StreamsRunning');
    const call = await gatewayCall(meetingId);
    const digits: string[] = [];
    call.signaling.dtmf.on('digit', ({ digit, source }) => digits.push(`${digit}:${source}`));
    await phone.sendDtmf('42*');
    await until(() => digits.length === 3, 5000, 'three DTMF digits');
    expect(digits).toEqual(['4:sip-info', '2:sip-info', '*:sip-info']);
    await phone.hangup();
    await call.whenEnded();
  });
});

describe('two linphones and a browser in one meeting', () => {
  it('the browser hears both phones; each phone hears the browser and the other phone, not itself', { timeout: 90_000 }, async () => {
    const meetingId = 'linphone-pair';
    // 1850 Hz stays clear of the intermodulation products of 600 and 1000 Hz.
    const tones = { pcmu: 1000, g722: 1850 };
    const { credentials, page } = await meetingWithBrowser(meetingId);
    const pcmu = await linphone({ ...credentials, codec: 'PCMU', toneHz: tones.pcmu });
    const g722 = await linphone({ ...credentials, codec: 'G722', toneHz: tones.g722 });
    for (const phone of [pcmu, g722]) {
      await phone.dial(sipUri(meetingId));
      await phone.waitForCall('StreamsRunning');
    }
    await waitForRemoteAudio(page, 2, 15_000);
    await sleep(2000);
    const phoneIds = (await readMeeting(page)).participants.filter((p) => p.kind === 'phone').map((p) => p.id);
    expect(phoneIds).toHaveLength(2);
    const browserHeard = await Promise.all(phoneIds.map((id) => measureRemoteToneHz(page, id)));
    const [low, high] = browserHeard.map((hz) => hz ?? 0).sort((a, b) => a - b);
    expect(Math.abs(low! - tones.pcmu), `the browser heard ${browserHeard.join(' and ')} Hz`).toBeLessThanOrEqual(5);
    expect(Math.abs(high! - tones.g722), `the browser heard ${browserHeard.join(' and ')} Hz`).toBeLessThanOrEqual(5);

    for (const phone of [pcmu, g722]) await phone.hangup();
    const levels = async (phone: LinphonePhone) => {
      const recording = await phone.recording();
      const samples = mixToMono(recording);
      const seconds = samples.length / recording.sampleRate;
      const lastSecond = { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 };
      const at = (hz: number) => toneLevelDbfs(samples, recording.sampleRate, hz, lastSecond);
      return { browser: at(BROWSER_HZ), pcmu: at(tones.pcmu), g722: at(tones.g722) };
    };
    const HEARD = -35;
    const NOT_HEARD = -50;
    const heardByPcmu = await levels(pcmu);
    const heardByG722 = await levels(g722);
    expect(heardByPcmu.browser, 'the PCMU linphone hears the browser').toBeGreaterThan(HEARD);
    expect(heardByPcmu.g722, 'the PCMU linphone hears the G.722 linphone').toBeGreaterThan(HEARD);
    expect(heardByPcmu.pcmu, 'the PCMU linphone does not hear itself').toBeLessThan(NOT_HEARD);
    expect(heardByG722.browser, 'the G.722 linphone hears the browser').toBeGreaterThan(HEARD);
    expect(heardByG722.pcmu, 'the G.722 linphone hears the PCMU linphone').toBeGreaterThan(HEARD);
    expect(heardByG722.g722, 'the G.722 linphone does not hear itself').toBeLessThan(NOT_HEARD);
  });
});

describe('twinkle on the default settings', () => {
  it('answers the challenge with MD5 and hears the meeting', { timeout: 60_000 }, async () => {
    const meetingId = 'twinkle-1';
    const { credentials } = await meetingWithBrowser(meetingId);
    const phone = await TwinklePhone.start({ ...credentials, domain: target.sipAddress.host });
    stops.push(() => phone.stop());
    await phone.dial(sipUri(meetingId));
    const call = await gatewayCall(meetingId);
    await sleep(3000);
    await phone.hangup();
    await call.whenEnded();

    const log = await phone.log();
    expect(log, 'twinkle was challenged').toMatch(/^SIP\/2\.0 401 /m);
    expect(log, 'twinkle answered with MD5').toMatch(/^Authorization: Digest .*algorithm=MD5/im);
    expect(log).not.toMatch(/Authentication algorithm .* not supported/);
    const heard = await phone.heard();
    const seconds = heard.length / HEARD_SAMPLE_RATE;
    expect(seconds, 'twinkle played the call to its speaker').toBeGreaterThan(2);
    const lastSecond = { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 };
    expect(isSilent(heard, HEARD_SAMPLE_RATE, lastSecond), 'twinkle heard silence').toBe(false);
    const phoneHeard = dominantFrequencyHz(heard, HEARD_SAMPLE_RATE, lastSecond);
    expect(Math.abs(phoneHeard - BROWSER_HZ), `twinkle heard ${phoneHeard} Hz`).toBeLessThanOrEqual(5);
  });
});
