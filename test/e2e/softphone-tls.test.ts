/**
 * A real softphone over SIP over TLS: linphone (liblinphone 5.1) dials `sips:<meeting>`
 * on drachtio's TLS port (the stand-in, or a real drachtio-server when DRACHTIO_SERVER_BIN
 * is set, both serving a certificate this file makes with openssl), trusting only that
 * certificate and checking its name, answers the digest challenge, is in the meeting
 * with a second linphone dialing over UDP, each hearing the other, and hangs up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { dominantFrequencyHz, isSilent } from '../support/audio/tone.js';
import { mixToMono } from '../support/audio/wav.js';
import { startSipTestGateway } from '../support/gateway.js';
import { LinphonePhone, type LinphonePhoneOptions } from '../support/phone/linphone.js';
import { type DrachtioTarget, type HostPort, drachtioTarget } from '../support/sip/drachtio-target.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';
import { until } from '../support/until.js';

const TLS_PHONE_HZ = 1000;
const UDP_PHONE_HZ = 600;

let certificate: TestCertificate;
let target: DrachtioTarget;
let tlsAddress: HostPort;
let gateway: Gateway;
const stops: Array<() => Promise<void>> = [];

const hostport = ({ host, port }: HostPort) => `${host}:${port}`;

async function linphone(options: LinphonePhoneOptions): Promise<LinphonePhone> {
  const phone = await LinphonePhone.start(options);
  stops.push(() => phone.stop());
  return phone;
}

/** The tone in the last second of what a phone heard (its recording is complete once it hung up). */
async function heardHz(phone: LinphonePhone): Promise<number | undefined> {
  const recording = await phone.recording();
  const samples = mixToMono(recording);
  const seconds = samples.length / recording.sampleRate;
  const lastSecond = { fromSeconds: seconds - 1.2, toSeconds: seconds - 0.2 };
  if (isSilent(samples, recording.sampleRate, lastSecond)) return undefined;
  return dominantFrequencyHz(samples, recording.sampleRate, lastSecond);
}

beforeAll(async () => {
  certificate = await makeTestCertificate();
  target = await drachtioTarget({}, certificate);
  tlsAddress = target.sipTlsAddress!;
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '44900', RTP_MAX_PORT: '44999' });
}, 30_000);

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  await certificate?.remove();
});

describe('linphone over TLS', () => {
  it('dials sips:<meeting>, trusting only the test certificate, authenticates, is heard and hears the meeting, and hangs up', { timeout: 60_000 }, async () => {
    const meetingId = 'linphone-tls';
    await gateway.meetings.create({ id: meetingId });
    const credentials = await gateway.sipCredentials.create({ meetingId });
    const overTls = await linphone({
      ...credentials,
      codec: 'PCMU',
      toneHz: TLS_PHONE_HZ,
      sipServer: hostport(tlsAddress),
      tls: { trustedCertificate: certificate.cert },
    });
    const overUdp = await linphone({ ...credentials, codec: 'PCMU', toneHz: UDP_PHONE_HZ, sipServer: hostport(target.sipAddress) });

    await overTls.dial(`sips:${meetingId}@${hostport(tlsAddress)}`);
    await overTls.waitForCall('StreamsRunning');
    await overUdp.dial(`sip:${meetingId}@${hostport(target.sipAddress)}`);
    await overUdp.waitForCall('StreamsRunning');
    await until(async () => (await gateway.store.listCalls(meetingId)).length === 2, 5000, 'both calls listed');

    await sleep(3000);
    await overTls.hangup();
    await overUdp.hangup();
    await until(async () => (await gateway.store.listCalls(meetingId)).length === 0, 5000, 'the calls gone');

    const log = await overTls.log();
    expect(log, 'linphone verified the certificate: no flag raised').toMatch(/Found certificate depth=\[0\], flags=\[\]/);
    expect(log).toMatch(/SSL handshake finished/);
    expect(log, 'linphone answered the MD5 challenge').toMatch(/^Authorization:\s+Digest [^\n]*algorithm=MD5/im);
    const vias = [...log.matchAll(/^Via: SIP\/2\.0\/(\S+) /gm)].map(([, transport]) => transport);
    expect(vias.length).toBeGreaterThan(0);
    expect(new Set(vias), 'every request and response travelled over TLS').toEqual(new Set(['TLS']));
    expect(log, 'the ACK and BYE went to the sips: Contact of the 200').toMatch(/^BYE sips:127\.0\.0\.1:\d+;transport=tls SIP\/2\.0/m);

    const tlsHeard = await heardHz(overTls);
    const udpHeard = await heardHz(overUdp);
    expect(Math.abs((udpHeard ?? 0) - TLS_PHONE_HZ), `the UDP phone heard ${udpHeard} Hz from the TLS phone`).toBeLessThanOrEqual(5);
    expect(Math.abs((tlsHeard ?? 0) - UDP_PHONE_HZ), `the TLS phone heard ${tlsHeard} Hz from the UDP phone`).toBeLessThanOrEqual(5);
  });

  it('refuses a server whose certificate it was not told to trust: the call fails in the handshake and reaches no meeting', { timeout: 30_000 }, async () => {
    const meetingId = 'linphone-tls-untrusted';
    await gateway.meetings.create({ id: meetingId });
    const credentials = await gateway.sipCredentials.create({ meetingId });
    const stranger = await makeTestCertificate('stranger');
    stops.push(() => stranger.remove());
    const phone = await linphone({
      ...credentials,
      codec: 'PCMU',
      toneHz: TLS_PHONE_HZ,
      sipServer: hostport(tlsAddress),
      tls: { trustedCertificate: stranger.cert },
    });
    await phone.dial(`sips:${meetingId}@${hostport(tlsAddress)}`);
    await expect(phone.waitForCall('StreamsRunning')).rejects.toThrow(/the call ended/);
    const log = await phone.log();
    expect(log).toMatch(/SSL handshake failed/);
    expect(log).not.toMatch(/^INVITE /m);
    expect(await gateway.store.listCalls(meetingId)).toEqual([]);
  });
});
