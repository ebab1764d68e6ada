/**
 * The meeting page in a real Chromium, bundled as npm run build bundles it and served by the real
 * page routes. The signaling server is not part of this test: it checks only what the
 * page does on its own — render, the join form, ?name= auto-join, and the message for
 * each close code a real WebSocket (the ws package) closes the socket with.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { pageRoutes } from '../../src/http/page-routes.js';
import { CloseCode } from '../../src/signaling/protocol.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { measureMicrophoneToneHz, openMeetingPage, readMeeting, waitForMeetingState } from '../support/browser/meeting-page.js';

const TONE_HZ = 440;
const SCREENSHOTS = {
  desktop: '/tmp/meeting-page-desktop.png',
  phone: '/tmp/meeting-page-phone.png',
  closed: '/tmp/meeting-page-closed.png',
};

/** How the WebSocket at /ws/meetings/<id> answers, per meeting id: accept, then close with a code. */
const SOCKET_CLOSES: Record<string, { code: number; reason: string }> = {
  'unknown-meeting': { code: CloseCode.notFound, reason: 'no such meeting' },
  'ended-meeting': { code: CloseCode.gone, reason: 'meeting ended' },
  'full-meeting': { code: CloseCode.full, reason: 'meeting full' },
  'draining-meeting': { code: CloseCode.goingAway, reason: 'this meeting server is restarting; rejoin to continue' },
};

let chromium: LaunchedChromium;
let app: FastifyInstance;
let sockets: WebSocketServer;
let baseUrl: string;
const upgrades: string[] = [];
let page: Page | undefined;

beforeAll(async () => {
  chromium = await launchChromium({ toneHz: TONE_HZ });

  // Every valid id is an active meeting hosted here: the page itself must always be served.
  app = Fastify();
  await app.register(pageRoutes, { assetsDir: inject('webAssetsDir'), meetingState: async () => 'active', placement: { locate: async () => ({ kind: 'here' as const }) } });
  sockets = new WebSocketServer({ noServer: true });
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(request.url ?? '');
    const meetingId = /^\/ws\/meetings\/([^/?]+)$/.exec(request.url ?? '')?.[1] ?? '';
    const close = SOCKET_CLOSES[meetingId];
    // Any other meeting: no signaling server answers, as when it is down.
    if (!close) return socket.destroy();
    sockets.handleUpgrade(request, socket, head, (ws) => ws.close(close.code, close.reason));
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  await page?.close();
  page = undefined;
  upgrades.length = 0;
});

afterAll(async () => {
  await chromium?.close();
  for (const client of sockets?.clients ?? []) client.terminate();
  sockets?.close();
  await app?.close();
});

async function open(meetingId: string, name?: string): Promise<Page> {
  page = await chromium.newPage();
  await openMeetingPage(page, baseUrl, meetingId, name);
  return page;
}

function pageProblems(): string {
  return [...chromium.pageErrors, ...chromium.consoleMessages].join('\n');
}

describe('the meeting page', () => {
  it('shows the meeting and a join form, tidy on desktop and phone widths', async () => {
    const page = await open('weekly-sync');
    await expect.poll(() => page.locator('#display-name').evaluate((input) => input === input.ownerDocument.activeElement)).toBe(true);
    expect(await page.locator('#meeting-id').textContent()).toBe('weekly-sync');
    expect(await page.title()).toBe('Meeting weekly-sync');
    expect(await page.locator('#join-form').isVisible()).toBe(true);
    expect(await page.locator('#room').isVisible()).toBe(false);
    expect(await page.locator('#notice').isVisible()).toBe(false);
    expect((await readMeeting(page)).state).toBe('idle');

    await page.setViewportSize({ width: 1280, height: 720 });
    await page.screenshot({ path: SCREENSHOTS.desktop, fullPage: true });
    await page.setViewportSize({ width: 390, height: 760 });
    await page.screenshot({ path: SCREENSHOTS.phone, fullPage: true });
    expect(chromium.pageErrors, pageProblems()).toEqual([]);
  });

  it('joins with the typed name on Join, and says so when the meeting does not exist', async () => {
    const page = await open('unknown-meeting');
    await page.locator('#display-name').fill('  Ada Lovelace ');
    await page.locator('#join-button').click();

    await waitForMeetingState(page, 'closed');
    expect(upgrades).toEqual(['/ws/meetings/unknown-meeting']);
    expect(await page.locator('#notice').textContent()).toContain('This meeting does not exist.');
    expect(await page.locator('#join-form').isVisible()).toBe(false);
    expect(await readMeeting(page)).toMatchObject({ state: 'closed', closeCode: CloseCode.notFound, selfId: null });
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.screenshot({ path: SCREENSHOTS.closed, fullPage: true });

    // The name is remembered for the next visit.
    await openMeetingPage(page, baseUrl, 'weekly-sync');
    expect(await page.locator('#display-name').inputValue()).toBe('Ada Lovelace');
  });

  it('does nothing on Join while the name is blank', async () => {
    const page = await open('unknown-meeting');
    await page.locator('#display-name').fill('   ');
    await page.locator('#join-button').click();
    expect((await readMeeting(page)).state).toBe('idle');
    expect(upgrades).toEqual([]);
  });

  it.each([
    { meetingId: 'unknown-meeting', code: CloseCode.notFound, says: 'This meeting does not exist.', offersRetry: false },
    { meetingId: 'ended-meeting', code: CloseCode.gone, says: 'This meeting has ended.', offersRetry: false },
    { meetingId: 'full-meeting', code: CloseCode.full, says: 'This meeting is full.', offersRetry: true },
    { meetingId: 'draining-meeting', code: CloseCode.goingAway, says: 'The meeting server is restarting.', offersRetry: true },
    { meetingId: 'no-signaling', code: 1006, says: 'Could not reach the meeting server.', offersRetry: true },
  ])('joins at once with ?name= and explains close code $code', async ({ meetingId, code, says, offersRetry }) => {
    const page = await open(meetingId, 'Grace');
    await waitForMeetingState(page, 'closed');
    expect(upgrades).toEqual([`/ws/meetings/${meetingId}`]);
    expect(await readMeeting(page)).toMatchObject({ state: 'closed', closeCode: code });
    const notice = page.locator('#notice');
    expect(await notice.getAttribute('data-tone')).toBe('error');
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await notice.textContent()).toContain(says);
    expect(await notice.getByRole('button', { name: 'Try again' }).count()).toBe(offersRetry ? 1 : 0);
    expect(await page.locator('#join-form').isVisible()).toBe(false);
    expect(chromium.pageErrors, pageProblems()).toEqual([]);
  });
});

describe('the browser harness', () => {
  it('gives Chromium a fake microphone playing the tone, which the page meter hears', async () => {
    const page = await open('weekly-sync');
    const hz = await measureMicrophoneToneHz(page);
    expect(hz).not.toBeNull();
    expect(Math.abs(hz! - TONE_HZ)).toBeLessThan(2);
  });
});
