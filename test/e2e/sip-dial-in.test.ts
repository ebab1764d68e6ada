/**
 * Real softphones (baresip) dialing into a meeting through drachtio (the stand-in, or a
 * real drachtio-server when TEST_DRACHTIO_ADDRESS, TEST_DRACHTIO_SECRET and
 * TEST_SIP_ADDRESS are set) and the real gateway, with a real browser in the meeting. The
 * gateway runs on its default digest settings, as a new user's would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { SipCall } from '../../src/sip/sip-leg.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { measureRemoteToneHz, openMeetingPage, readMeeting, waitForMeetingState, waitForRemoteAudio } from '../support/browser/meeting-page.js';
import { dominantFrequencyHz, isSilent, toneLevelDbfs } from '../support/audio/tone.js';
import { mixToMono, readWav } from '../support/audio/wav.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { BaresipPhone, type PhoneCodec } from '../support/phone/baresip.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { until } from '../support/until.js';

const PHONE_HZ = 1000;
const BROWSER_HZ = 600;

let target: DrachtioTarget;
let redis: PrivateRedis;
let gateway: Gateway;
const gatewayLog = capturedLogger();
let browser: LaunchedChromium;
const phones: BaresipPhone[] = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

async function phone(codec: PhoneCodec, credentials: { username: string; password: string }, toneHz = PHONE_HZ): Promise<BaresipPhone> {
  const started = await BaresipPhone.start({
    toneHz,
    codec,
    ...credentials,
    sipServer: `${target.sipAddress.host}:${target.sipAddress.port}`,
  });
  phones.push(started);
  return started;
}

/** A meeting, a credential scoped to it, and a browser that has joined it. */
async function meetingWithBrowser(meetingId: string) {
  await api('POST', '/meetings', { id: meetingId });
  const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
  const page = await browser.newPage();
  await openMeetingPage(page, gateway.httpUrl, meetingId, 'Browser');
  await waitForMeetingState(page, 'joined');
  return { credentials, page };
}

/** Dials the meeting and returns the gateway's side of the answered call. */
async function answeredCall(caller: BaresipPhone, meetingId: string): Promise<SipCall> {
  await caller.dial(sipUri(meetingId));
  await caller.waitForEvent('CALL_ESTABLISHED', 10_000);
  // Recorded once the phone's ACK is in and it has joined the meeting.
  await until(async () => (await gateway.store.listCalls(meetingId)).length > 0, 5000, 'the call up');
  const [record] = await gateway.store.listCalls(meetingId);
  return gateway.sip.calls.get(record!.callId)!;
}

const sipUri = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;

beforeAll(async () => {
  target = await drachtioTarget();
  // A Redis of its own, which one test stalls to hold a call in set-up.
  redis = await spawnRedisServer();
  gateway = await startSipTestGateway(target, {
    REDIS_URL: redis.url,
    RTP_MIN_PORT: '43200',
    RTP_MAX_PORT: '43499',
  }, gatewayLog.log);
  browser = await launchChromium({ toneHz: BROWSER_HZ });
}, 60_000);

afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await target?.close();
  await redis?.stop();
});

/** The last second of what a softphone heard before it hung up, at its codec's rate. */
async function lastSecondHeard(caller: BaresipPhone) {
  const { decoded, codec } = await caller.recordings();
  const samples = mixToMono(await readWav(decoded));
  const seconds = samples.length / codec.sampleRate;
  return { samples, codec, lastSecond: { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 } };
}

describe.each<PhoneCodec>(['PCMU', 'PCMA', 'G722', 'opus'])('a softphone dialing in with %s', (codec) => {
  it('is heard in the meeting as a phone participant, hears the meeting, and leaves nothing behind', { timeout: 60_000 }, async () => {
    const meetingId = `dial-${codec.toLowerCase()}`;
    const { credentials, page } = await meetingWithBrowser(meetingId);
    const caller = await phone(codec, credentials);
    await answeredCall(caller, meetingId);
    await waitForRemoteAudio(page, 1, 15_000);
    const heard = await measureRemoteToneHz(page);
    expect(heard, `browser heard ${heard} Hz from a ${codec} phone`).not.toBeNull();
    expect(Math.abs(heard! - PHONE_HZ)).toBeLessThanOrEqual(5);
    const roster = await readMeeting(page);
    expect(roster.participants.find((p) => p.kind === 'phone')).toMatchObject({ kind: 'phone' });
    expect(await gateway.store.listCalls(meetingId)).toHaveLength(1);

    await caller.hangup();
    await caller.waitForEvent('CALL_CLOSED', 5000);
    const { samples, codec: negotiated, lastSecond } = await lastSecondHeard(caller);
    expect(negotiated.name).toBe(codec);
    expect(isSilent(samples, negotiated.sampleRate, lastSecond)).toBe(false);
    const phoneHeard = dominantFrequencyHz(samples, negotiated.sampleRate, lastSecond);
    expect(Math.abs(phoneHeard - BROWSER_HZ), `the ${codec} phone heard ${phoneHeard} Hz`).toBeLessThanOrEqual(5);

    const room = (await gateway.rooms.existing(meetingId))!;
    // Only the browser's two transports remain: the meeting's one to its media thread went with its last phone.
    await until(
      async () => room.size === 1 && (await gateway.store.listCalls(meetingId)).length === 0 && (await room.router.dump()).transportIds.length === 2,
      5000,
      'call cleaned up',
    );
    expect(await room.mixerCounts()).toBeUndefined();
    await page.close();
  });
});

describe('two phones and a browser in one meeting', () => {
  it('each hears the other two and not itself', { timeout: 90_000 }, async () => {
    const meetingId = 'three-way';
    // 1850 Hz stays clear of the intermodulation products of 600 and 1000 Hz (1400, 1600, 2200...).
    const tones = { pcmu: 1000, g722: 1850 };
    const { credentials, page } = await meetingWithBrowser(meetingId);
    const pcmu = await phone('PCMU', credentials, tones.pcmu);
    await answeredCall(pcmu, meetingId);
    const g722 = await phone('G722', credentials, tones.g722);
    await answeredCall(g722, meetingId);
    await waitForRemoteAudio(page, 2, 15_000);
    await sleep(2000);

    const phoneIds = (await readMeeting(page)).participants.filter((p) => p.kind === 'phone').map((p) => p.id);
    expect(phoneIds).toHaveLength(2);
    const browserHeard = await Promise.all(phoneIds.map((id) => measureRemoteToneHz(page, id)));
    const [low, high] = browserHeard.map((hz) => hz ?? 0).sort((a, b) => a - b);
    expect(Math.abs(low! - tones.pcmu), `the browser heard ${browserHeard.join(' and ')} Hz`).toBeLessThanOrEqual(5);
    expect(Math.abs(high! - tones.g722), `the browser heard ${browserHeard.join(' and ')} Hz`).toBeLessThanOrEqual(5);

    for (const caller of [pcmu, g722]) {
      await caller.hangup();
      await caller.waitForEvent('CALL_CLOSED', 5000);
    }
    const levels = async (caller: BaresipPhone) => {
      const { samples, codec, lastSecond } = await lastSecondHeard(caller);
      const at = (hz: number) => toneLevelDbfs(samples, codec.sampleRate, hz, lastSecond);
      return { browser: at(BROWSER_HZ), pcmu: at(tones.pcmu), g722: at(tones.g722) };
    };
    const heardByPcmu = await levels(pcmu);
    const heardByG722 = await levels(g722);
    const HEARD = -35;
    const NOT_HEARD = -50;
    expect(heardByPcmu.browser, 'the PCMU phone hears the browser').toBeGreaterThan(HEARD);
    expect(heardByPcmu.g722, 'the PCMU phone hears the G.722 phone').toBeGreaterThan(HEARD);
    expect(heardByPcmu.pcmu, 'the PCMU phone does not hear itself').toBeLessThan(NOT_HEARD);
    expect(heardByG722.browser, 'the G.722 phone hears the browser').toBeGreaterThan(HEARD);
    expect(heardByG722.pcmu, 'the G.722 phone hears the PCMU phone').toBeGreaterThan(HEARD);
    expect(heardByG722.g722, 'the G.722 phone does not hear itself').toBeLessThan(NOT_HEARD);
    await page.close();
  });
});

describe('a browser that joins a meeting of phones', () => {
  it('hears a phone that was there first: its audio goes to mediasoup only from then on', { timeout: 60_000 }, async () => {
    const meetingId = 'browser-late';
    await api('POST', '/meetings', { id: meetingId });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
    const caller = await phone('PCMU', credentials);
    const call = await answeredCall(caller, meetingId);
    const room = (await gateway.rooms.existing(meetingId))!;
    // Talking, judged speaking in its media thread, but nobody to relay it to.
    await until(() => room.views().some((p) => p.kind === 'phone' && p.speaking), 5000, 'the phone speaking');
    const relayed = async () => (await call.media!.producer!.getStats()).reduce((sum, stream) => sum + stream.packetCount, 0);
    expect(await relayed()).toBe(0);

    const page = await browser.newPage();
    await openMeetingPage(page, gateway.httpUrl, meetingId, 'Browser');
    await waitForMeetingState(page, 'joined');
    await waitForRemoteAudio(page, 1, 15_000);
    const heard = await measureRemoteToneHz(page);
    expect(heard, `the browser heard ${heard} Hz from the phone`).not.toBeNull();
    expect(Math.abs(heard! - PHONE_HZ)).toBeLessThanOrEqual(5);
    expect(await relayed()).toBeGreaterThan(50);
    await page.close();
  });
});

describe('refused calls', () => {
  it('a wrong password gets 403 after the challenge', { timeout: 30_000 }, async () => {
    await api('POST', '/meetings', { id: 'refuse-1' });
    const { username } = await api<{ username: string }>('POST', '/sip-credentials', { meetingId: 'refuse-1' });
    const caller = await phone('PCMU', { username, password: 'not-the-password' });
    await caller.dial(sipUri('refuse-1'));
    const closed = await caller.waitForEvent('CALL_CLOSED', 10_000);
    expect(closed.param).toMatch(/^403/);
    expect(await gateway.rooms.existing('refuse-1')).toBeUndefined();
  });

  it('an unknown meeting gets 404', { timeout: 30_000 }, async () => {
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', {});
    const caller = await phone('PCMU', credentials);
    await caller.dial(sipUri('no-such-meeting'));
    const closed = await caller.waitForEvent('CALL_CLOSED', 10_000);
    expect(closed.param).toMatch(/^404/);
  });

  it('a credential scoped to another meeting gets 403', { timeout: 30_000 }, async () => {
    await api('POST', '/meetings', { id: 'scoped-a' });
    await api('POST', '/meetings', { id: 'scoped-b' });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: 'scoped-a' });
    const caller = await phone('PCMU', credentials);
    await caller.dial(sipUri('scoped-b'));
    const closed = await caller.waitForEvent('CALL_CLOSED', 10_000);
    expect(closed.param).toMatch(/^403/);
  });
});

describe('hanging up before the answer', () => {
  it('a CANCEL while the call is being set up reaches the gateway, which stops and leaves nothing behind', { timeout: 30_000 }, async () => {
    await api('POST', '/meetings', { id: 'cancel-early' });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: 'cancel-early' });
    const caller = await phone('PCMU', credentials);
    // With the store stalled, the authenticated INVITE waits in set-up (the caller has only 100 Trying).
    redis.pause();
    try {
      await caller.dial(sipUri('cancel-early'));
      await sleep(1000);
      await caller.hangup();
      await sleep(500);
    } finally {
      redis.resume();
    }
    const closed = await caller.waitForEvent('CALL_CLOSED', 5000);
    expect(closed.param).toBe('Connection reset by user'); // baresip's words for its own hang-up
    const cancelled = gatewayLog.lines().find((line) => line.msg === 'call ended' && line.meetingId === 'cancel-early' && line.reason === 'CANCEL');
    expect(cancelled, 'the gateway saw the CANCEL').toMatchObject({ state: 'setting-up', endedBy: 'caller', status: 487 });
    // The set-up, resumed, notices the call ended and stops.
    await until(() => gatewayLog.lines().some((line) => line.msg === 'call set-up stopped: the call has ended' && line.meetingId === 'cancel-early'), 5000, 'set-up stopped');
    expect(caller.eventLog.some((e) => e.type === 'CALL_ESTABLISHED')).toBe(false);
    expect(gateway.sip.calls.size).toBe(0);
    expect(await gateway.store.listCalls('cancel-early')).toEqual([]);
    expect(await gateway.rooms.existing('cancel-early')).toBeUndefined();
  });
});

describe('the meeting side', () => {
  it('ending the meeting sends BYE to the phone', { timeout: 30_000 }, async () => {
    await api('POST', '/meetings', { id: 'ending-phone' });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', {});
    const caller = await phone('PCMA', credentials);
    await caller.dial(sipUri('ending-phone'));
    await caller.waitForEvent('CALL_ESTABLISHED', 10_000);
    await api('DELETE', '/meetings/ending-phone');
    const closed = await caller.waitForEvent('CALL_CLOSED', 10_000);
    expect(closed.param).toMatch(/reset by peer/i);
    await until(async () => (await gateway.store.listCalls('ending-phone')).length === 0, 5000, 'call record removed');
  });
});

describe('during a call', () => {
  it('keeps the call and its audio through hold and unhold, and decodes RFC 4733 DTMF', { timeout: 60_000 }, async () => {
    const { credentials, page } = await meetingWithBrowser('hold-1');
    const caller = await phone('PCMU', credentials);
    const call = await answeredCall(caller, 'hold-1');

    const digits: string[] = [];
    call.signaling.dtmf.on('digit', ({ digit, source }) => digits.push(`${digit}:${source}`));
    await caller.sendDtmf('12#');
    await until(() => digits.length === 3, 5000, 'three DTMF digits');
    expect(digits).toEqual(['1:rfc4733', '2:rfc4733', '#:rfc4733']);

    await caller.hold();
    await sleep(500);
    await caller.resume();
    await sleep(500);
    expect(gateway.sip.calls.get(call.callId)).toBe(call);
    expect(caller.eventLog.some((e) => e.type === 'CALL_CLOSED')).toBe(false);
    await waitForRemoteAudio(page, 1, 10_000);
    const heard = await measureRemoteToneHz(page);
    expect(Math.abs((heard ?? 0) - PHONE_HZ), `browser heard ${heard} Hz after unhold`).toBeLessThanOrEqual(5);

    await caller.hangup();
    await call.whenEnded();
    await page.close();
  });
});
