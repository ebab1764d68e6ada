/**
 * The BaresipPhone harness against a real baresip 1.0.0 and a tiny UAS written here: the
 * phone's tone must arrive over RTP, ours must land in its recording, and DTMF, digest
 * auth, error reasons, hold/resume and TCP must work as the harness documents.
 */
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { dominantFrequencyHz, isSilent } from '../support/audio/tone.js';
import { durationSeconds, mixToMono, readWav } from '../support/audio/wav.js';
import { BaresipPhone, type BaresipPhoneOptions } from '../support/phone/baresip.js';
import { MiniUas, type MiniUasOptions } from './mini-uas.js';
import { RtpPeer } from './rtp-peer.js';

const PHONE_TONE_HZ = 1000;
const PEER_TONE_HZ = 600;
/** Skips the start of a recording, where the jitter buffer is still filling. */
const SETTLED = { fromSeconds: 0.3 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function expectHz(actual: number, expected: number): void {
  expect(Math.abs(actual - expected), `${actual.toFixed(2)} Hz, expected ${expected} ± 2 Hz`).toBeLessThanOrEqual(2);
}

async function callSetup(
  codec: BaresipPhoneOptions['codec'],
  { uas: uasOptions = {}, phone: phoneOptions = {} }: { uas?: Partial<MiniUasOptions>; phone?: Partial<BaresipPhoneOptions> } = {},
) {
  const rtp = await RtpPeer.open();
  cleanups.push(() => rtp.close());
  const uas = await MiniUas.start({ codec, rtpPort: rtp.port, ...uasOptions });
  cleanups.push(() => uas.close());
  const phone = await BaresipPhone.start({ toneHz: PHONE_TONE_HZ, codec, sipServer: uas.hostport, ...phoneOptions });
  cleanups.push(() => phone.stop());
  return { rtp, uas, phone };
}

async function establish(phone: BaresipPhone, uas: MiniUas) {
  await phone.dial('echo');
  await phone.waitForEvent('CALL_ESTABLISHED');
  const offer = uas.offer;
  if (!offer) throw new Error('the UAS saw no SDP offer');
  return offer;
}

async function hangUp(phone: BaresipPhone, uas: MiniUas): Promise<void> {
  await phone.hangup();
  expect((await phone.waitForEvent('CALL_CLOSED')).param).toBe('Connection reset by user');
  await uas.waitFor((exchanges) => exchanges.some((e) => e.request.method === 'BYE'), 'BYE');
}

describe('BaresipPhone with a real baresip', () => {
  it.each(['PCMU', 'PCMA'] as const)('%s: sends its tone over RTP and records the tone it hears', async (codec) => {
    const { rtp, uas, phone } = await callSetup(codec);
    const offer = await establish(phone, uas);
    const payloadType = offer.payloadTypes.get(codec.toLowerCase())!;
    rtp.sendTone({ address: offer.address, port: offer.port, law: codec, payloadType, hz: PEER_TONE_HZ });
    await sleep(1_500);
    await hangUp(phone, uas);

    const sentByPhone = rtp.receivedAudio(codec, payloadType);
    expect(sentByPhone.length).toBeGreaterThan(8_000);
    expectHz(dominantFrequencyHz(sentByPhone, 8_000, SETTLED), PHONE_TONE_HZ);

    const recordings = await phone.recordings();
    expect(recordings.codec).toEqual({ name: codec, sampleRate: 8_000, channels: 1 });
    const heard = await readWav(recordings.decoded);
    expect(heard).toMatchObject({ sampleRate: 8_000, channels: 1 });
    expect(durationSeconds(heard)).toBeGreaterThan(1);
    expect(isSilent(heard.samples, heard.sampleRate, SETTLED)).toBe(false);
    expectHz(dominantFrequencyHz(heard.samples, heard.sampleRate, SETTLED), PEER_TONE_HZ);
    const sent = await readWav(recordings.encoded);
    expectHz(dominantFrequencyHz(sent.samples, sent.sampleRate, SETTLED), PHONE_TONE_HZ);
  });

  it.each([
    ['G722', 16_000, 1],
    ['opus', 48_000, 2],
  ] as const)('%s: negotiates the codec and records at its rate', async (codec, sampleRate, channels) => {
    const { uas, phone } = await callSetup(codec);
    await establish(phone, uas);
    await sleep(700);
    await hangUp(phone, uas);

    const recordings = await phone.recordings();
    expect(recordings.codec).toEqual({ name: codec, sampleRate, channels });
    const sent = await readWav(recordings.encoded);
    expect(sent).toMatchObject({ sampleRate, channels });
    expectHz(dominantFrequencyHz(mixToMono(sent), sampleRate, SETTLED), PHONE_TONE_HZ);
  });

  it('sends DTMF as RFC 4733 telephone-events', async () => {
    const { rtp, uas, phone } = await callSetup('PCMU');
    const offer = await establish(phone, uas);
    await phone.sendDtmf('12#');
    await sleep(300); // the last digit's end packets
    await hangUp(phone, uas);

    const events = rtp.receivedEvents(offer.payloadTypes.get('telephone-event')!);
    expect(events.map((e) => e.event)).toEqual([1, 2, 11]);
  });

  it('answers a digest challenge with the configured credentials', async () => {
    const credentials = { username: 'alice', password: 's3cret' };
    const { uas, phone } = await callSetup('PCMU', { uas: { credentials }, phone: credentials });
    await establish(phone, uas);

    const invites = uas.exchanges.filter((e) => e.request.method === 'INVITE');
    expect(invites.map((e) => e.status)).toEqual([401, 200]);
    await hangUp(phone, uas);
  });

  it.each([
    ['a wrong password', { uas: { credentials: { username: 'alice', password: 's3cret' } }, phone: { username: 'alice', password: 'wrong' } }, '403 Forbidden'],
    ['an unknown number', { uas: { reject: { status: 404, reason: 'Not Found' } } }, '404 Not Found'],
  ] as const)('reports the reason when the call fails with %s', async (_, options, reason) => {
    const { uas, phone } = await callSetup('PCMU', options);
    await phone.dial('nobody');
    expect((await phone.waitForEvent('CALL_CLOSED')).param).toBe(reason);
    await uas.waitFor((exchanges) => exchanges.some((e) => e.request.method === 'ACK'), 'ACK of the error');
    expect(phone.eventLog.map((e) => e.type)).not.toContain('CALL_ESTABLISHED');
  });

  it.each([
    [180, 'CALL_RINGING'],
    [183, 'CALL_PROGRESS'],
  ] as const)('reports a %d as %s, and the far end hanging up as "Connection reset by peer"', async (provisional, event) => {
    const { uas, phone } = await callSetup('PCMU', { uas: { provisional } });
    await establish(phone, uas);
    expect(phone.eventLog.map((e) => e.type)).toContain(event);

    uas.hangup();
    expect((await phone.waitForEvent('CALL_CLOSED')).param).toBe('Connection reset by peer');
  });

  it('holds and resumes with re-INVITEs (sendonly, then sendrecv)', async () => {
    const { uas, phone } = await callSetup('PCMU');
    await establish(phone, uas);
    const reinvites = () => uas.exchanges.filter((e) => e.request.method === 'INVITE').slice(1);

    await phone.hold();
    await uas.waitFor(() => reinvites().length === 1, 'hold re-INVITE');
    await phone.resume();
    await uas.waitFor(() => reinvites().length === 2, 'resume re-INVITE');

    expect(reinvites().map((e) => [e.offer?.direction, e.status])).toEqual([
      ['sendonly', 200],
      ['sendrecv', 200],
    ]);
    expect(phone.eventLog.map((e) => e.type)).not.toContain('CALL_CLOSED');
    await hangUp(phone, uas);
  });

  it('calls over TCP when asked to', async () => {
    const { uas, phone } = await callSetup('PCMU', { uas: { transport: 'tcp' }, phone: { transport: 'tcp' } });
    await establish(phone, uas);

    const invite = uas.exchanges.find((e) => e.request.method === 'INVITE')!;
    expect(invite.request.headers.get('via')?.[0]).toMatch(/^SIP\/2\.0\/TCP /);
    expect(invite.request.uri).toMatch(/;transport=tcp$/);
    await hangUp(phone, uas);
  });
});

describe('BaresipPhone lifecycle', () => {
  it('runs instances in parallel on separate ports and cleans up after each', async () => {
    const phones = await Promise.all(
      [1, 2, 3].map(() => BaresipPhone.start({ toneHz: PHONE_TONE_HZ, codec: 'PCMU', sipServer: '127.0.0.1:5060', durationSeconds: 5 })),
    );
    cleanups.push(...phones.map((phone) => () => phone.stop()));

    const blocks = phones.map((phone) => phone.ports).sort((a, b) => a.sip - b.sip);
    for (const [index, block] of blocks.entries()) {
      expect(block.sip).toBeLessThan(32_768);
      expect(block.rtpMax).toBeLessThan(32_768);
      if (index > 0) expect(block.sip).toBeGreaterThan(blocks[index - 1]!.rtpMax + 1);
    }

    await Promise.all(phones.map((phone) => phone.stop()));
    await phones[0]!.stop(); // a second stop is harmless
    for (const phone of phones) await expect(access(phone.dir)).rejects.toThrow();
  });

  it('hangs up an open call when stopped', async () => {
    const { uas, phone } = await callSetup('PCMU');
    await establish(phone, uas);
    await phone.stop();
    await uas.waitFor((exchanges) => exchanges.some((e) => e.request.method === 'BYE'), 'BYE');
  });

  it('says how to install baresip when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(BaresipPhone.start({ toneHz: PHONE_TONE_HZ, codec: 'PCMU', sipServer: '127.0.0.1:5060' })).rejects.toThrow(
        'run bash scripts/setup.sh --test',
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
