/**
 * SHA-256 digest is opt-in (SIP_DIGEST_ALGORITHMS=SHA-256,MD5): what each softphone does
 * with the two challenges, strongest first as RFC 8760 orders them. linphone answers the
 * first it supports (SHA-256); twinkle 1.10 answers only the last one, which is MD5 in this
 * order; baresip 1.0 gives up on any challenge that is not MD5, which is why the default
 * offers MD5 alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { BaresipPhone } from '../support/phone/baresip.js';
import { LinphonePhone } from '../support/phone/linphone.js';
import { TwinklePhone } from '../support/phone/twinkle.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let gateway: Gateway;
const stops: Array<() => Promise<void>> = [];
const MEETING = 'sha256-room';

const sipServer = () => `${target.sipAddress.host}:${target.sipAddress.port}`;
const sipUri = () => `sip:${MEETING}@${sipServer()}`;

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { SIP_DIGEST_ALGORITHMS: 'SHA-256,MD5', RTP_MIN_PORT: '44600', RTP_MAX_PORT: '44699' });
  await gateway.meetings.create({ id: MEETING });
}, 60_000);

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await until(async () => (await gateway.store.listCalls(MEETING)).length === 0, 5000, 'calls removed');
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

describe('with SIP_DIGEST_ALGORITHMS=SHA-256,MD5', () => {
  it('linphone answers the SHA-256 challenge and gets in', { timeout: 30_000 }, async () => {
    const credentials = await gateway.sipCredentials.create({ meetingId: MEETING });
    const phone = await LinphonePhone.start({ ...credentials, codec: 'PCMU', toneHz: 1000, sipServer: sipServer() });
    stops.push(() => phone.stop());
    await phone.dial(sipUri());
    await phone.waitForCall('StreamsRunning');
    expect(await phone.log()).toMatch(/^Authorization:\s+Digest [^\n]*algorithm=SHA-256/im);
    await phone.hangup();
  });

  it('twinkle answers the last challenge, MD5, and gets in', { timeout: 30_000 }, async () => {
    const credentials = await gateway.sipCredentials.create({ meetingId: MEETING });
    const phone = await TwinklePhone.start({ ...credentials, domain: target.sipAddress.host });
    stops.push(() => phone.stop());
    await phone.dial(sipUri());
    const log = await phone.log();
    expect(log).toMatch(/^WWW-Authenticate: Digest [^\n]*algorithm=SHA-256[^]*^WWW-Authenticate: Digest [^\n]*algorithm=MD5/im);
    expect(log).toMatch(/^Authorization: Digest [^\n]*algorithm=MD5/im);
    await phone.hangup();
  });

  it('baresip 1.0 gives up on the 401: the reason MD5 alone is the default', { timeout: 30_000 }, async () => {
    const credentials = await gateway.sipCredentials.create({ meetingId: MEETING });
    const phone = await BaresipPhone.start({ ...credentials, codec: 'PCMU', toneHz: 1000, sipServer: sipServer() });
    stops.push(() => phone.stop());
    await phone.dial(sipUri());
    const closed = await phone.waitForEvent('CALL_CLOSED', 10_000);
    expect(closed.param).toBe('Function not implemented'); // libre's ENOSYS for a challenge that is not MD5
    expect(phone.eventLog.some((event) => event.type === 'CALL_ESTABLISHED')).toBe(false);
  });
});
