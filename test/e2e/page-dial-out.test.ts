/**
 * "Invite by phone" on the meeting page (PAGE_DIAL_OUT=true): a real browser joined to the
 * meeting types a SIP address and presses Call; a test SIP UA (the callee) is INVITEd
 * through drachtio (the stand-in, or a real drachtio-server with DRACHTIO_SERVER_BIN),
 * answers, and the page shows each state and the callee in its roster. With PAGE_DIAL_OUT
 * off (a second gateway, same browser) the field is not shown.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { type LaunchedChromium, launchChromium } from '../support/browser/chromium.js';
import { openMeetingPage, readMeeting, waitForMeetingState } from '../support/browser/meeting-page.js';
import { startSipTestGateway, startTestGateway } from '../support/gateway.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isRequest } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let gateway: Gateway;
let browser: LaunchedChromium;
let callee: SipPeer;

const request = (m: ReceivedSip) => parseSipMessage(m.text) as SipRequest;
const dialOutStatus = (page: Page) => page.locator('#dial-out-status').textContent();

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '47700', RTP_MAX_PORT: '47799', PAGE_DIAL_OUT: 'true' });
  browser = await launchChromium({ toneHz: 600 });
  callee = await SipPeer.udp(target.sipAddress);
}, 60_000);

afterAll(async () => {
  await callee?.close();
  await browser?.close();
  await gateway?.close();
  await target?.close();
});

describe('Invite by phone', () => {
  it('calls the typed SIP address from the page, which shows it ringing, answered, in the roster, and ended', async () => {
    await gateway.meetings.create({ id: 'page-dial' });
    const page = await browser.newPage();
    await openMeetingPage(page, gateway.httpUrl, 'page-dial', 'Browser');
    await waitForMeetingState(page, 'joined');
    expect(await page.locator('#dial-out-form').isVisible()).toBe(true);

    const to = `sip:bob@127.0.0.1:${callee.port}`;
    await page.fill('#dial-out-to', to);
    await page.click('#dial-out-button');
    const invite = await callee.next(isRequest('INVITE'), 5000);
    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'pagebob' }));
    await until(async () => (await dialOutStatus(page)) === `${to}: ringing`, 3000, 'the page showing ringing');
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'pagebob', sdp: PCMU_OFFER(30200), extraHeaders: [`Contact: <${to}>`] }));
    await callee.next(isRequest('ACK'));
    await until(async () => (await dialOutStatus(page)) === `${to}: answered, in the meeting`, 3000, 'the page showing answered');
    await until(async () => (await readMeeting(page)).participants.some((p) => p.kind === 'phone'), 3000, 'the callee in the roster');

    // The call's record is written once its media runs, which the roster does not wait for.
    const recorded = async () => (await gateway.store.listCalls('page-dial'))[0];
    await until(async () => (await recorded()) !== undefined, 3000, 'the call recorded');
    await fetch(`${gateway.httpUrl}/api/calls/${(await recorded())!.callId}`, { method: 'DELETE' });
    const bye = await callee.next(isRequest('BYE'));
    callee.send(responseTo(request(bye), 200, 'OK'));
    await until(async () => (await dialOutStatus(page)) === `${to}: call ended`, 3000, 'the page showing the end');
    await page.close();
  });

  it('is hidden while PAGE_DIAL_OUT is off (the default)', { timeout: 30_000 }, async () => {
    // A second gateway with the default configuration, on the same browser; no SIP is needed to see the page.
    const withoutDialOut = await startTestGateway({ RTP_MIN_PORT: '47800', RTP_MAX_PORT: '47899' });
    try {
      await withoutDialOut.meetings.create({ id: 'page-no-dial' });
      const page = await browser.newPage();
      await openMeetingPage(page, withoutDialOut.httpUrl, 'page-no-dial', 'Browser');
      await waitForMeetingState(page, 'joined');
      expect(await page.locator('#dial-out-form').isVisible()).toBe(false);
      expect(await page.locator('#dial-out-button').isVisible()).toBe(false);
      await page.close();
    } finally {
      await withoutDialOut.close();
    }
  });
});
