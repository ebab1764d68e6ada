/**
 * A real softphone over SIP over TLS: baresip (Debian's build has TLS), trusting the
 * certificate this file makes with openssl, dials `sip:<meeting>@...;transport=tls` through drachtio
 * (the stand-in) into the real gateway, authenticates, is in the meeting, and hangs up.
 *
 * Not through a real drachtio-server: its TLS contact must be a sips: URI (sofia-sip refuses
 * TLS on a sip: contact, "Protocol not supported") and it puts that sips: URI in the Contact
 * of its 200 OK; baresip 1.0.0 cannot send to a sips: URI, so it drops the call before its
 * ACK ("session closed: Function not implemented", checked). The stand-in answers a
 * `sip:...;transport=tls` request with a `sip:...;transport=tls` Contact (its README, 60).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { BaresipPhone } from '../support/phone/baresip.js';
import { type DrachtioTarget, drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';
import { until } from '../support/until.js';

let certificate: TestCertificate;
let target: DrachtioTarget;
let gateway: Gateway;
const phones: BaresipPhone[] = [];

describe.skipIf(usingRealDrachtio())('baresip over TLS', () => {
  beforeAll(async () => {
    certificate = await makeTestCertificate();
    target = await drachtioTarget({}, certificate);
    gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '44900', RTP_MAX_PORT: '44999' });
  }, 30_000);

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((phone) => phone.stop()));
  });

  afterAll(async () => {
    await gateway?.close();
    await target?.close();
    await certificate?.remove();
  });

  it('dials <meeting> over TLS, answers the digest challenge, joins the meeting as a phone and hangs up', { timeout: 30_000 }, async () => {
    const tls = target.sipTlsAddress!;
    await gateway.meetings.create({ id: 'tls-phone' });
    const credentials = await gateway.sipCredentials.create({ meetingId: 'tls-phone' });
    const phone = await BaresipPhone.start({
      toneHz: 1000,
      codec: 'PCMU',
      ...credentials,
      sipServer: `${tls.host}:${tls.port}`,
      transport: 'tls',
      tlsCaFile: certificate.certFile,
    });
    phones.push(phone);
    // sip:tls-phone@<TLS address>;transport=tls: baresip 1.0.0 cannot dial a sips: URI.
    await phone.dial('tls-phone');
    await phone.waitForEvent('CALL_ESTABLISHED', 10_000);
    await until(async () => (await gateway.store.listCalls('tls-phone')).length === 1, 5000, 'the call up');
    const [call] = await gateway.store.listCalls('tls-phone');
    expect(gateway.sip.calls.get(call!.callId)).toBeDefined();
    expect(await gateway.store.listParticipants('tls-phone')).toEqual([expect.objectContaining({ kind: 'phone' })]);

    await phone.hangup();
    await phone.waitForEvent('CALL_CLOSED', 5000);
    await until(async () => (await gateway.store.listCalls('tls-phone')).length === 0, 5000, 'the call gone');
  });
});
