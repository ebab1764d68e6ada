/**
 * Call control on a real gateway: raw SIP callers through drachtio (the stand-in, or the
 * real drachtio-server when DRACHTIO_SERVER_BIN is set) that talk PCMU over RTP and decode
 * what they hear, and a signaling client in the meeting as a browser's page would be.
 * Muting a caller through the call API or its own *6 keeps its tone from the other phone
 * and pauses its producer for browsers, shows in the roster, and plays the caller its
 * confirmation beeps; its keys reach the browsers and the call's observers; removing a
 * participant ends a phone's call with a BYE that says why and closes a browser's socket,
 * as ending the meeting through the API does for everyone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallDigitEvent } from '../../src/calls/call-events.js';
import type { Gateway } from '../../src/gateway.js';
import { BEEP_MS, TONE_HZ } from '../../src/media/mixer/confirmation-tones.js';
import { writeRtp } from '../../src/media/rtp-packet.js';
import type { SipCall } from '../../src/sip/sip-leg.js';
import { dominantFrequencyHz, rmsDbfs, toneLevelDbfs } from '../support/audio/tone.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { SignalingTestClient } from '../support/signaling-client.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { header } from '../support/sip/sip-message.js';
import { isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';
import { keyPress } from '../sip/dtmf/telephone-events.js';

/** The muted caller talks this; the other phone is silent, so whatever tone it hears is the caller's. */
const CALLER_HZ = 1000;
const HEARD_DB = -35;
const NOT_HEARD_DB = -50;
/** The telephone-event payload type of PCMU_OFFER. */
const TELEPHONE_EVENT_PT = 101;

let target: DrachtioTarget;
let gateway: Gateway;
const gatewayLog = capturedLogger();
const calls: RtpCall[] = [];
const clients: SignalingTestClient[] = [];

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '46000', RTP_MAX_PORT: '46199', MEDIA_THREADS: '1' }, gatewayLog.log);
}, 60_000);

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(calls.splice(0).map((call) => call.close()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

/** A request to the API and its answer, whatever the status (bodies are whatever the server sent; each test asserts on their shape). */
async function api(method: string, path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.httpUrl}/api${path}`, { method });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function meeting(meetingId: string): Promise<{ username: string; password: string }> {
  await requestJson(`${gateway.httpUrl}/api`, 'POST', '/meetings', { id: meetingId });
  return requestJson(`${gateway.httpUrl}/api`, 'POST', '/sip-credentials', { meetingId });
}

/** A signaling client that has joined the meeting, as a browser does before it sends media. */
async function browser(meetingId: string, displayName = 'Browser'): Promise<{ client: SignalingTestClient; participantId: string }> {
  const client = await SignalingTestClient.connect(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/${meetingId}`);
  clients.push(client);
  const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
  const { participantId } = await client.request('join', { displayName, rtpCapabilities });
  return { client, participantId };
}

/** An answered call talking `toneHz` (silence without), in the meeting once its ACK is in. */
async function phone(meetingId: string, credentials: { username: string; password: string }, toneHz?: number): Promise<{ call: RtpCall; held: SipCall; participantId: string }> {
  const call = await RtpCall.dial(target.sipAddress, meetingId, credentials, { toneHz: toneHz ?? 0 });
  calls.push(call);
  expect(call.statusLine).toMatch(/^SIP\/2\.0 200 /);
  await until(() => gateway.sip.calls.get(call.callId)?.media?.producer !== undefined, 5000, 'the caller in the meeting');
  const held = gateway.sip.calls.get(call.callId)!;
  return { call, held, participantId: held.media!.member!.id };
}

/** The level of `hz` in what the phone heard from `fromMs` (performance.now()) on. */
function levelHeard(call: RtpCall, hz: number, fromMs: number): number {
  const { samples, sampleRate } = call.rtp.heard(fromMs);
  return samples.length < 160 ? -Infinity : toneLevelDbfs(samples, sampleRate, hz);
}

/** The beeps in what the phone heard from `fromMs` on: runs of loud 20 ms frames. */
function beepsHeard(call: RtpCall, fromMs: number): { beeps: number; hz: number | undefined } {
  const { samples, sampleRate } = call.rtp.heard(fromMs);
  const frame = sampleRate / 50;
  let beeps = 0;
  let loud = false;
  for (let offset = 0; offset + frame <= samples.length; offset += frame) {
    const now = rmsDbfs(samples.subarray(offset, offset + frame), sampleRate) > -35;
    if (now && !loud) beeps++;
    loud = now;
  }
  return { beeps, hz: beeps > 0 ? dominantFrequencyHz(samples, sampleRate) : undefined };
}

/** Presses one key as RFC 4733 telephone-events on the phone's RTP. */
function pressKey(call: RtpCall, event: number, timestamp: number, sequenceStart: number): void {
  keyPress(event, timestamp, 800).forEach((packet, i) =>
    call.rtp.send(
      writeRtp({ payloadType: TELEPHONE_EVENT_PT, sequenceNumber: (sequenceStart + i) & 0xffff, timestamp: packet.timestamp, ssrc: call.rtp.ssrc, marker: packet.marker }, packet.payload),
      call.gatewayRtpPort,
    ),
  );
}

/** Presses one key as a SIP INFO (application/dtmf-relay) and waits for its 200. */
async function infoKey(call: RtpCall, signal: string): Promise<void> {
  call.caller.inDialog(call.final!, 'INFO', { body: `Signal=${signal}\r\nDuration=160\r\n` });
  await call.peer.next(isResponse(200, 'INFO'), 5000);
}

const path = (call: RtpCall) => `/calls/${encodeURIComponent(call.callId)}`;

describe('muting a caller through the call API', () => {
  it('stops its audio reaching the other phone and the browsers, shows it muted, beeps once; unmute restores it with two beeps', { timeout: 60_000 }, async () => {
    const credentials = await meeting('muting');
    const { client } = await browser('muting');
    const { call: caller, held, participantId } = await phone('muting', credentials, CALLER_HZ);
    const { call: listener } = await phone('muting', credentials);
    const producer = held.media!.producer!;
    await until(() => levelHeard(listener, CALLER_HZ, performance.now() - 1000) > HEARD_DB, 10_000, 'the other phone hearing the caller');
    expect(levelHeard(caller, TONE_HZ, 0), 'no beep before any mute').toBeLessThan(NOT_HEARD_DB);

    const mutedAt = performance.now();
    const muted = await api('POST', `${path(caller)}/mute`);
    expect(muted).toMatchObject({ status: 200, body: { callId: caller.callId, meetingId: 'muting', state: 'answered', muted: true } });
    expect(producer.paused, 'its producer for browsers paused').toBe(true);
    await client.notification('participantUpdated', ({ participant }) => participant.id === participantId && participant.muted);
    await sleep(1000);
    expect(levelHeard(listener, CALLER_HZ, mutedAt + 200), 'the other phone no longer hears the caller').toBeLessThan(NOT_HEARD_DB);
    const beep = beepsHeard(caller, mutedAt);
    expect(beep.beeps, 'one beep for muted').toBe(1);
    expect(Math.abs(beep.hz! - TONE_HZ)).toBeLessThanOrEqual(10);

    // Idempotent: the same answer, and no second beep.
    const againAt = performance.now();
    expect(await api('POST', `${path(caller)}/mute`)).toMatchObject({ status: 200, body: { muted: true } });
    await sleep(BEEP_MS * 3);
    expect(beepsHeard(caller, againAt).beeps).toBe(0);
    expect((await api('GET', path(caller))).body).toMatchObject({ muted: true });

    const unmutedAt = performance.now();
    expect(await api('POST', `${path(caller)}/unmute`)).toMatchObject({ status: 200, body: { muted: false } });
    expect(producer.paused).toBe(false);
    await client.notification('participantUpdated', ({ participant }) => participant.id === participantId && !participant.muted);
    await until(() => levelHeard(listener, CALLER_HZ, unmutedAt + 200) > HEARD_DB, 5000, 'the other phone hearing the caller again');
    await sleep(BEEP_MS * 3);
    const beeps = beepsHeard(caller, unmutedAt);
    expect(beeps.beeps, 'two beeps for unmuted').toBe(2);
    expect(Math.abs(beeps.hz! - TONE_HZ)).toBeLessThanOrEqual(10);
  });

  it('keeps an operator\'s mute through the caller\'s hold and unhold', { timeout: 60_000 }, async () => {
    const credentials = await meeting('mute-and-hold');
    const { call: caller, held, participantId } = await phone('mute-and-hold', credentials, CALLER_HZ);
    const { call: listener } = await phone('mute-and-hold', credentials);
    const room = (await gateway.rooms.existing('mute-and-hold'))!;
    const shownMuted = () => room.views().find((p) => p.id === participantId)!.muted;
    expect((await api('POST', `${path(caller)}/mute`)).status).toBe(200);

    const reinvite = async (version: number, direction: string) => {
      caller.caller.inDialog(caller.final!, 'INVITE', { body: PCMU_OFFER(caller.rtp.port).replace('o=caller 1 1', `o=caller 1 ${version}`).replace('a=sendrecv', direction) });
      caller.caller.inDialog(await caller.peer.next(isResponse(200, 'INVITE'), 5000), 'ACK');
    };
    await reinvite(2, 'a=sendonly');
    await until(() => held.media!.onHold, 2000, 'the call on hold');
    await reinvite(3, 'a=sendrecv');
    await until(() => !held.media!.onHold, 2000, 'the call off hold');
    await sleep(500);
    const unheldAt = performance.now();
    await sleep(1000);
    expect(shownMuted(), 'still muted after unhold').toBe(true);
    expect(held.media!.producer!.paused).toBe(true);
    expect(levelHeard(listener, CALLER_HZ, unheldAt), 'still not heard after unhold').toBeLessThan(NOT_HEARD_DB);
    expect((await api('GET', path(caller))).body).toMatchObject({ muted: true });

    expect((await api('POST', `${path(caller)}/unmute`)).body).toMatchObject({ muted: false });
    expect(shownMuted()).toBe(false);
  });

  it('answers 404 with a message for a call this node does not hold', async () => {
    expect(await api('POST', '/calls/no-such-call/mute')).toEqual({ status: 404, body: { error: 'not_found', message: 'no live call "no-such-call"' } });
    expect((await api('POST', '/calls/no-such-call/unmute')).status).toBe(404);
  });
});

describe('the caller\'s keys', () => {
  it('reach the browsers and the call\'s observers, and *6 in RFC 4733 toggles the caller\'s mute with its beep', { timeout: 60_000 }, async () => {
    const credentials = await meeting('keys-rtp');
    const { client } = await browser('keys-rtp');
    const observed: CallDigitEvent[] = [];
    const stopObserving = gateway.callEvents.observe({ digitPressed: (event) => observed.push(event) });
    try {
      const { call: caller, participantId } = await phone('keys-rtp', credentials);
      const pressedAt = performance.now();
      pressKey(caller, 10, 80_000, 20_000); // *
      pressKey(caller, 6, 96_000, 20_100);
      await client.notification('dtmf', (data) => data.digit === '6');
      expect(client.notifications.filter((n) => n.notification === 'dtmf').map((n) => n.data)).toEqual([
        { participantId, digit: '*' },
        { participantId, digit: '6' },
      ]);
      expect(observed).toEqual([
        { callId: caller.callId, meetingId: 'keys-rtp', participantId, digit: '*' },
        { callId: caller.callId, meetingId: 'keys-rtp', participantId, digit: '6' },
      ]);
      await client.notification('participantUpdated', ({ participant }) => participant.id === participantId && participant.muted);
      expect((await api('GET', path(caller))).body).toMatchObject({ muted: true });
      await sleep(BEEP_MS * 4);
      expect(beepsHeard(caller, pressedAt).beeps, 'one beep for muted').toBe(1);
    } finally {
      stopObserving();
    }
  });

  it('*6 in SIP INFO toggles the mute back and forth; a 6 long after its star does not', { timeout: 60_000 }, async () => {
    const credentials = await meeting('keys-info');
    const { client } = await browser('keys-info');
    const { call: caller, participantId } = await phone('keys-info', credentials);
    const isMuted = async () => (await api('GET', path(caller))).body.muted as boolean;

    await infoKey(caller, '*');
    await infoKey(caller, '6');
    await until(isMuted, 3000, 'muted by *6');
    await sleep(BEEP_MS * 3);
    const unmutedAt = performance.now();
    await infoKey(caller, '*');
    await infoKey(caller, '6');
    await until(async () => !(await isMuted()), 3000, 'unmuted by *6 again');
    await sleep(BEEP_MS * 4);
    expect(beepsHeard(caller, unmutedAt).beeps, 'two beeps for unmuted').toBe(2);

    await infoKey(caller, '*');
    await sleep(3200);
    await infoKey(caller, '6');
    await client.notification('dtmf', (data) => data.digit === '6' && client.notifications.filter((n) => n.notification === 'dtmf').length === 6);
    expect(await isMuted()).toBe(false);
    expect(client.notifications.filter((n) => n.notification === 'dtmf').map((n) => n.data.digit)).toEqual(['*', '6', '*', '6', '*', '6']);
    expect(client.notifications.filter((n) => n.notification === 'dtmf').every((n) => n.data.participantId === participantId)).toBe(true);
  });
});

describe('DELETE /api/meetings/:id', () => {
  it('hangs up the meeting\'s phones with a BYE whose Reason is Q.850 cause 16, and tells its browsers it ended', { timeout: 30_000 }, async () => {
    const credentials = await meeting('ended-by-api');
    const { client } = await browser('ended-by-api');
    const { call } = await phone('ended-by-api', credentials);
    const bye = call.byeFromGateway(5000);
    expect((await api('DELETE', '/meetings/ended-by-api')).status).toBe(200);
    expect(header((await bye).text, 'Reason')).toBe('Q.850;cause=16;text="meeting ended"');
    expect(await client.notification('meetingEnded')).toEqual({ reason: 'meeting ended' });
    expect(await client.closed).toEqual({ code: 4410, reason: 'meeting ended' });
    await until(() => !gateway.sip.calls.has(call.callId), 5000, 'the call ended');
  });
});

describe('DELETE /api/meetings/:id/participants/:participantId', () => {
  it('ends a phone\'s call with a BYE whose Reason is Q.850 cause 16 "removed from the meeting"', { timeout: 30_000 }, async () => {
    const credentials = await meeting('remove-phone');
    const { client } = await browser('remove-phone');
    const { call, participantId } = await phone('remove-phone', credentials);
    const bye = call.byeFromGateway(5000);
    expect((await api('DELETE', `/meetings/remove-phone/participants/${participantId}`)).status).toBe(204);
    expect(header((await bye).text, 'Reason')).toBe('Q.850;cause=16;text="removed from the meeting"');
    await client.notification('participantLeft', (data) => data.participantId === participantId);
    await until(() => !gateway.sip.calls.has(call.callId), 5000, 'the call ended');
    expect(await api('DELETE', `/meetings/remove-phone/participants/${participantId}`)).toEqual({
      status: 404,
      body: { error: 'not_found', message: `no participant "${participantId}" in meeting "remove-phone" on this node` },
    });
  });

  it('sends a browser a removed notice and closes its socket with 4403 and the reason; the others see it leave', { timeout: 30_000 }, async () => {
    await meeting('remove-browser');
    const { client: stays } = await browser('remove-browser', 'Stays');
    const { client: removed, participantId } = await browser('remove-browser', 'Removed');
    expect((await api('DELETE', `/meetings/remove-browser/participants/${participantId}`)).status).toBe(204);
    expect(await removed.notification('removed')).toEqual({ reason: 'removed from the meeting' });
    expect(await removed.closed).toEqual({ code: 4403, reason: 'removed from the meeting' });
    await stays.notification('participantLeft', (data) => data.participantId === participantId);
    expect((await gateway.rooms.existing('remove-browser'))!.size).toBe(1);
  });

  it('answers 404 with a message for an unknown meeting or participant', async () => {
    await meeting('remove-nobody');
    expect(await api('DELETE', '/meetings/no-such-meeting/participants/someone')).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'meeting "no-such-meeting" does not exist' },
    });
    expect(await api('DELETE', '/meetings/remove-nobody/participants/someone')).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'no participant "someone" in meeting "remove-nobody" on this node' },
    });
  });
});
