/**
 * Dialing out over TLS through drachtio (the stand-in, or a real drachtio-server's TLS
 * contact when DRACHTIO_SERVER_BIN is set, both serving a certificate made with openssl):
 * a test SIP UA listening with TLS (a certificate of its own) is INVITEd at a `sips:`
 * address, answers, and it and a caller dialled in over UDP hear each other's tone; the
 * gateway's BYE comes over the same TLS connection. A trunk `sip:...;transport=tls`
 * REGISTERs and sends its INVITE over TLS. With the gateway's own stand-in, checking the
 * callee's certificate (SIP_TLS_VERIFY, SIP_TLS_CA_FILE): a callee it trusts gets the
 * INVITE, one it does not gets nothing and the dial-out fails with why. The callee is the
 * test UA, not linphone: linphone 5.1 takes no connection on its TLS port ("New connection
 * arriving on TLS, not handled !").
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { toneLevelDbfs } from '../support/audio/tone.js';
import { startSipTestGateway, startTestGateway } from '../support/gateway.js';
import { answerJson, requestJson } from '../support/json-api.js';
import { RtpPhone } from '../support/phone/rtp-phone.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { firstLine, header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isRequest } from '../support/sip/sip-peer.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';
import { until } from '../support/until.js';

const HEARD_DB = -35;
const CALLEE_HZ = 1000;
const CALLER_HZ = 600;

let drachtioCertificate: TestCertificate;
let calleeCertificate: TestCertificate;
let target: DrachtioTarget;
let gateway: Gateway;
const cleanups: Array<() => Promise<void> | void> = [];

const request = (m: ReceivedSip) => parseSipMessage(m.text) as SipRequest;

interface DialOutView {
  readonly dialOut?: { readonly state: string; readonly sipStatus?: number; readonly reason?: string };
}

beforeAll(async () => {
  drachtioCertificate = await makeTestCertificate();
  calleeCertificate = await makeTestCertificate('callee');
  target = await drachtioTarget({}, drachtioCertificate);
  // DRACHTIO_ADDRESS is set (the target is drachtio-server to the gateway), which checks no TLS peer: that is accepted here.
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '45100', RTP_MAX_PORT: '45199', SIP_TLS_VERIFY: 'false' });
}, 30_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  await drachtioCertificate?.remove();
  await calleeCertificate?.remove();
});

async function tlsCallee(certificate: TestCertificate): Promise<SipPeer> {
  const callee = await SipPeer.tlsServer(certificate);
  cleanups.push(() => callee.close());
  return callee;
}

function levelHeard(rtp: RtpPhone, hz: number): number {
  const { samples, sampleRate } = rtp.heard(performance.now() - 1000);
  return samples.length < 160 ? -Infinity : toneLevelDbfs(samples, sampleRate, hz);
}

async function dialOutState(on: Gateway, callId: string): Promise<DialOutView['dialOut']> {
  return (await requestJson<DialOutView>(`${on.httpUrl}/api`, 'GET', `/calls/${callId}`)).dialOut;
}

describe('dialing out over TLS', () => {
  it('INVITEs a sips: address over TLS; the callee answers, hears the meeting and is heard, and gets the BYE over TLS', { timeout: 60_000 }, async () => {
    const meetingId = 'tls-dial-out';
    await gateway.meetings.create({ id: meetingId });
    const credentials = await gateway.sipCredentials.create({ meetingId });
    const caller = await RtpCall.dial(target.sipAddress, meetingId, credentials, { toneHz: CALLER_HZ });
    cleanups.push(() => caller.close());
    expect(caller.answered).toBe(true);

    const callee = await tlsCallee(calleeCertificate);
    const calleeRtp = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz: CALLEE_HZ });
    cleanups.push(() => calleeRtp.close());
    const to = `sips:bob@127.0.0.1:${callee.port}`;
    const { callId } = await requestJson<{ callId: string }>(`${gateway.httpUrl}/api`, 'POST', `/meetings/${meetingId}/dial-out`, { to });

    const invite = await callee.next(isRequest('INVITE'), 5000);
    expect(firstLine(invite.text)).toBe(`INVITE ${to} SIP/2.0`);
    expect(header(invite.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    expect(header(invite.text, 'Contact'), 'our TLS address').toBe(`<sip:${target.sipTlsAddress!.host}:${target.sipTlsAddress!.port};transport=tls>`);
    callee.send(responseTo(request(invite), 180, 'Ringing', { toTag: 'tlsbob' }));
    await until(async () => (await dialOutState(gateway, callId))?.state === 'ringing', 3000, 'ringing');
    callee.send(responseTo(request(invite), 200, 'OK', { toTag: 'tlsbob', sdp: PCMU_OFFER(calleeRtp.port), extraHeaders: [`Contact: <${to}>`] }));
    await callee.next(isRequest('ACK'), 5000);
    await until(async () => (await dialOutState(gateway, callId))?.state === 'answered', 3000, 'answered');

    const gatewayPort = Number(/^m=audio (\d+) /m.exec(invite.text)?.[1]);
    calleeRtp.talk(gatewayPort);
    await until(() => levelHeard(calleeRtp, CALLER_HZ) > HEARD_DB, 15_000, 'the callee hearing the dialled-in caller');
    await until(() => levelHeard(caller.rtp, CALLEE_HZ) > HEARD_DB, 15_000, 'the dialled-in caller hearing the callee');

    expect((await answerJson(`${gateway.httpUrl}/api`, 'DELETE', `/calls/${callId}`)).status).toBe(204);
    const bye = await callee.next(isRequest('BYE'), 5000);
    expect(header(bye.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    callee.send(responseTo(request(bye), 200, 'OK'));
    await until(async () => (await dialOutState(gateway, callId))?.state === 'ended', 3000, 'ended');
  });

  it('registers with a trunk sip:...;transport=tls over TLS and sends the trunk its INVITE over TLS', { timeout: 30_000 }, async () => {
    await gateway.meetings.create({ id: 'tls-trunk' });
    const trunk = await tlsCallee(calleeCertificate);
    const address = `sip:127.0.0.1:${trunk.port};transport=tls`;
    const api = (method: string, path: string, body?: unknown) => answerJson(`${gateway.httpUrl}/api`, method, path, body);
    expect((await api('POST', '/trunks', { id: 'tls-carrier', address, callerId: '+4930999', register: { expires: 60 } })).status).toBe(201);

    const register = await trunk.next(isRequest('REGISTER'), 5000);
    expect(firstLine(register.text)).toBe(`REGISTER ${address} SIP/2.0`);
    expect(header(register.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    expect(header(register.text, 'Contact'), 'the binding is our TLS address').toMatch(/^<sip:tls-carrier@127\.0\.0\.1:(\d+);transport=tls>$/);
    const tlsPort = Number(/:(\d+);transport=tls>$/.exec(header(register.text, 'Contact')!)![1]);
    expect(tlsPort).toBe(target.sipTlsAddress!.port);
    trunk.send(responseTo(request(register), 200, 'OK', { toTag: 'reg', extraHeaders: ['Expires: 60'] }));
    await until(async () => ((await api('GET', '/trunks/tls-carrier')).json.registration as { state?: string } | undefined)?.state === 'registered', 3000, 'registered');

    const { json } = await api('POST', '/meetings/tls-trunk/dial-out', { to: '+4930123456', trunk: 'tls-carrier' });
    const callId = json.callId as string;
    const invite = await trunk.next(isRequest('INVITE'), 5000);
    expect(firstLine(invite.text)).toBe(`INVITE sip:+4930123456@127.0.0.1:${trunk.port};transport=tls SIP/2.0`);
    expect(header(invite.text, 'Via')).toMatch(/^SIP\/2\.0\/TLS /);
    trunk.send(responseTo(request(invite), 486, 'Busy Here', { toTag: 'busy' }));
    await trunk.next(isRequest('ACK'), 5000);
    await until(async () => (await dialOutState(gateway, callId))?.state === 'busy', 3000, 'busy');

    expect((await api('DELETE', '/trunks/tls-carrier')).status).toBe(204);
    const unregister = await trunk.next(isRequest('REGISTER'), 5000);
    expect(header(unregister.text, 'Expires')).toBe('0');
    trunk.send(responseTo(request(unregister), 200, 'OK', { toTag: 'unreg' }));
  });
});

describe("checking the callee's certificate (the gateway's own stand-in)", () => {
  it('INVITEs a callee whose certificate SIP_TLS_CA_FILE trusts; a callee it does not trust gets nothing, and the dial-out fails saying why', { timeout: 60_000 }, async () => {
    const stranger = await makeTestCertificate('stranger');
    cleanups.push(() => stranger.remove());
    const embedded = await startTestGateway({
      SIP_TLS_CERT: drachtioCertificate.certFile,
      SIP_TLS_KEY: drachtioCertificate.keyFile,
      SIP_TLS_PORT: '0',
      SIP_TLS_CA_FILE: calleeCertificate.certFile,
      RTP_MIN_PORT: '45200',
      RTP_MAX_PORT: '45299',
    });
    cleanups.push(() => embedded.close());
    await until(async () => (await fetch(`${embedded.httpUrl}/readyz`)).status === 200, 10_000, 'the gateway connected to its stand-in');
    await embedded.meetings.create({ id: 'tls-verify' });
    const dial = (to: string) => requestJson<{ callId: string }>(`${embedded.httpUrl}/api`, 'POST', '/meetings/tls-verify/dial-out', { to });

    const trusted = await tlsCallee(calleeCertificate);
    const answered = await dial(`sips:bob@127.0.0.1:${trusted.port}`);
    const invite = await trusted.next(isRequest('INVITE'), 5000);
    trusted.send(responseTo(request(invite), 486, 'Busy Here', { toTag: 'busy' }));
    await until(async () => (await dialOutState(embedded, answered.callId))?.state === 'busy', 3000, 'the trusted callee reached');

    const untrusted = await tlsCallee(stranger);
    const refused = await dial(`sips:bob@127.0.0.1:${untrusted.port}`);
    await until(async () => (await dialOutState(embedded, refused.callId))?.state === 'failed', 5000, 'the dial-out failed');
    const failed = await dialOutState(embedded, refused.callId);
    expect(failed?.sipStatus).toBe(503);
    expect(failed?.reason).toMatch(new RegExp(`^TLS certificate of 127\\.0\\.0\\.1:${untrusted.port} not trusted: self[- ]signed certificate`));
    expect(await untrusted.collect(300, isRequest('INVITE')), 'nothing sent to the untrusted callee').toEqual([]);
  });
});
