/**
 * Two real Chromium processes in one meeting on the real gateway: each fake microphone
 * plays its own tone, and each page must hear the other's tone through mediasoup.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { measureRemoteToneHz, openMeetingPage, readMeeting, waitForMeetingState, waitForRemoteAudio } from '../support/browser/meeting-page.js';
import { startTestGateway } from '../support/gateway.js';
import { until } from '../support/until.js';

const ALICE_HZ = 600;
const BOB_HZ = 1000;
const SCREENSHOT = '/tmp/e2e-meeting-joined.png';

let gateway: Gateway;
let alice: LaunchedChromium;
let bob: LaunchedChromium;

beforeAll(async () => {
  gateway = await startTestGateway({ RTP_MIN_PORT: '43000', RTP_MAX_PORT: '43199' });
  [alice, bob] = await Promise.all([launchChromium({ toneHz: ALICE_HZ }), launchChromium({ toneHz: BOB_HZ })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([alice?.close(), bob?.close()]);
  await gateway?.close();
});

describe('two browsers in one meeting', () => {
  it('each hears the other one\'s tone', { timeout: 60_000 }, async () => {
    const meeting = await gateway.meetings.create({ id: 'tones-1', title: 'Tone check' });
    const [pageA, pageB] = await Promise.all([alice.newPage(), bob.newPage()]);
    await openMeetingPage(pageA, gateway.httpUrl, meeting.id, 'Alice');
    await waitForMeetingState(pageA, 'joined');
    await openMeetingPage(pageB, gateway.httpUrl, meeting.id, 'Bob');
    await waitForMeetingState(pageB, 'joined');
    await Promise.all([waitForRemoteAudio(pageA, 1, 20_000), waitForRemoteAudio(pageB, 1, 20_000)]);

    const [heardByAlice, heardByBob] = await Promise.all([measureRemoteToneHz(pageA), measureRemoteToneHz(pageB)]);
    const diagnostics = JSON.stringify({ alice: alice.consoleMessages, bob: bob.consoleMessages });
    expect(heardByAlice, diagnostics).not.toBeNull();
    expect(Math.abs(heardByAlice! - BOB_HZ), `Alice heard ${heardByAlice} Hz`).toBeLessThanOrEqual(5);
    expect(Math.abs(heardByBob! - ALICE_HZ), `Bob heard ${heardByBob} Hz`).toBeLessThanOrEqual(5);

    const roster = await readMeeting(pageA);
    expect(roster.participants.map((p) => p.displayName).sort()).toEqual(['Alice', 'Bob']);
    // Both talk all the time: the page must show both as speaking.
    await pageA.waitForFunction("document.querySelectorAll('.is-speaking').length === 2", undefined, { timeout: 5000 });
    await pageA.screenshot({ path: SCREENSHOT });
    expect(alice.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it('a browser that vanishes has its transports closed within seconds', { timeout: 30_000 }, async () => {
    const room = (await gateway.rooms.existing('tones-1'))!;
    expect(room.size).toBe(2);
    expect((await room.router.dump()).transportIds).toHaveLength(4);

    // SIGKILL Bob's browser: no leave, no WebSocket close frame, no DTLS close alert.
    const pid = Number(execFileSync('pgrep', ['-o', '-f', `tone-${BOB_HZ}hz.wav`]).toString().trim());
    process.kill(pid, 'SIGKILL');

    await until(async () => room.size === 1 && (await room.router.dump()).transportIds.length === 2, 10_000);
    await until(async () => (await gateway.store.listParticipants('tones-1')).length === 1, 2_000);
  });
});
