/**
 * The mixer on a real mediasoup worker and real media threads, through the phones' own
 * media path: each phone is a PhoneMedia (its RTP port on the meeting's media thread,
 * PlainTransport, producer, mixer leg) and an RtpPhone sending a tone to it and decoding
 * what comes back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AudioCodecName } from '../../../src/media/codecs/frame-codecs.js';
import { MediaPlane } from '../../../src/media/plane/media-plane.js';
import { PhoneMedia } from '../../../src/media/phone-media.js';
import { Room } from '../../../src/media/room.js';
import { WorkerPool } from '../../../src/media/worker-pool.js';
import type { NegotiatedMedia } from '../../../src/media/sdp/negotiated-media.js';
import { TONE_HZ } from '../../../src/media/mixer/confirmation-tones.js';
import { toneLevelDbfs } from '../../support/audio/tone.js';
import { capturedLogger } from '../../support/log-capture.js';
import { RtpPhone } from '../../support/phone/rtp-phone.js';
import { until } from '../../support/until.js';
import { VirtualTime } from '../../support/virtual-time.js';

const PAYLOAD_TYPE: Record<AudioCodecName, number> = { PCMU: 0, PCMA: 8, G722: 9, opus: 111 };

function negotiated(codec: AudioCodecName, phonePort: number, remoteDirection: NegotiatedMedia['remoteDirection'] = 'sendrecv'): NegotiatedMedia {
  const opus = codec === 'opus';
  return {
    codec: {
      name: codec,
      payloadType: PAYLOAD_TYPE[codec],
      clockRate: opus ? 48000 : 8000,
      sampleRate: opus ? 48000 : codec === 'G722' ? 16000 : 8000,
      channels: opus ? 2 : 1,
      parameters: {},
    },
    remote: { ip: '127.0.0.1', port: phonePort, rtcpMux: true },
    direction: remoteDirection === 'sendonly' ? 'recvonly' : 'sendrecv',
    remoteDirection,
    ptime: 20,
  };
}

const { log } = capturedLogger();
let pool: WorkerPool;
let plane: MediaPlane;
let room: Room;
const phones: { rtp: RtpPhone; media: PhoneMedia }[] = [];

beforeAll(async () => {
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 41300, rtcMaxPort: 41399 }, log);
  plane = MediaPlane.create({ threads: 2 }, log);
});
afterAll(async () => {
  pool.close();
  await plane.close();
});

async function openRoom(id: string, talkers = 3, mediaPlane = plane): Promise<Room> {
  room = await Room.create(id, pool.leastLoaded(), { maxParticipants: 10, mixer: { talkers, plane: mediaPlane } }, log);
  return room;
}

afterEach(() => {
  for (const { rtp, media } of phones.splice(0)) {
    rtp.close();
    media.close('test over');
  }
  room.close('shutdown');
});

/** A phone in the room talking `toneHz` in `codec`. */
async function phone(id: string, codec: AudioCodecName, toneHz: number, amplitude = 8000, direction: NegotiatedMedia['remoteDirection'] = 'sendrecv') {
  const rtp = await RtpPhone.open({ codec, payloadType: PAYLOAD_TYPE[codec], toneHz, amplitude });
  const media = await PhoneMedia.open({
    room,
    identity: { id, displayName: id, kind: 'phone' },
    channel: { notify: () => undefined, disconnect: () => undefined },
    rtp: { listenIp: '127.0.0.1', minPort: 42000, maxPort: 42999 },
    latch: true,
  });
  await media.start(negotiated(codec, rtp.port, direction));
  rtp.talk(media.port);
  const entry = { rtp, media };
  phones.push(entry);
  return entry;
}

/** dBFS of each tone in what the phone heard since `fromMs`. */
function tonesHeard(rtp: RtpPhone, tones: readonly number[], fromMs: number): Record<number, number> {
  const { samples, sampleRate } = rtp.heard(fromMs);
  expect(samples.length, 'audio received').toBeGreaterThan(sampleRate / 2);
  return Object.fromEntries(tones.map((hz) => [hz, toneLevelDbfs(samples, sampleRate, hz)]));
}

const HEARD = -25; // an 8000-amplitude tone is about −15 dBFS; through G.711 or opus a little less
const NOT_HEARD = -50;

describe('MeetingMixer', () => {
  it('three talkers in PCMU, G.722 and opus: each phone hears the other two tones and not its own', { timeout: 30_000 }, async () => {
    await openRoom('mix-three');
    const talkers = [await phone('pcmu', 'PCMU', 440), await phone('g722', 'G722', 1000), await phone('opus', 'opus', 1700)];
    await until(async () => (await room.mixerCounts())?.talkers === 3, 5000, 'three talkers in the mix');
    await sleep(1000);
    const from = performance.now();
    await sleep(1500);
    const tones = [440, 1000, 1700];
    for (const { rtp } of talkers) {
      const own = rtp.options.toneHz!;
      const levels = tonesHeard(rtp, tones, from);
      for (const hz of tones) {
        if (hz === own) expect(levels[hz], `${rtp.options.codec} phone hears its own ${hz} Hz`).toBeLessThan(NOT_HEARD);
        else expect(levels[hz], `${rtp.options.codec} phone hears ${hz} Hz`).toBeGreaterThan(HEARD);
      }
    }
  });

  it('sends each phone one continuous stream: one SSRC, consecutive sequence numbers, 20 ms timestamps', { timeout: 20_000 }, async () => {
    await openRoom('mix-stream');
    const a = await phone('a', 'PCMU', 440);
    const b = await phone('b', 'opus', 1000);
    await sleep(1500);
    for (const { rtp } of [a, b]) {
      const packets = rtp.received.slice(5);
      expect(packets.length).toBeGreaterThan(40);
      expect(new Set(packets.map((p) => p.ssrc)).size).toBe(1);
      const step = rtp.options.codec === 'opus' ? 960 : 160;
      for (let i = 1; i < packets.length; i++) {
        expect((packets[i]!.sequenceNumber - packets[i - 1]!.sequenceNumber) & 0xffff).toBe(1);
        expect((packets[i]!.timestamp - packets[i - 1]!.timestamp) >>> 0).toBe(step);
      }
      expect(packets[0]!.payloadType).toBe(PAYLOAD_TYPE[rtp.options.codec]);
    }
  });

  it('mixes only the N loudest talkers: with N = 2 the quietest of three is not heard', { timeout: 20_000 }, async () => {
    await openRoom('mix-loudest', 2);
    const listener = await phone('listener', 'PCMU', 0);
    await phone('loud', 'PCMU', 500, 12_000);
    await phone('louder', 'PCMA', 900, 16_000);
    await phone('quiet', 'G722', 1500, 1500);
    await sleep(1000);
    const from = performance.now();
    await sleep(1000);
    const levels = tonesHeard(listener.rtp, [500, 900, 1500], from);
    expect(levels[500]).toBeGreaterThan(HEARD);
    expect(levels[900]).toBeGreaterThan(HEARD);
    expect(levels[1500]).toBeLessThan(NOT_HEARD);
  });

  it('a talker joining mid-stream is heard from then on, and not after it leaves', { timeout: 20_000 }, async () => {
    await openRoom('mix-join');
    const listener = await phone('listener', 'G722', 0);
    await phone('first', 'PCMU', 600);
    await sleep(1000);
    const beforeJoin = tonesHeard(listener.rtp, [600, 1200], performance.now() - 800);
    const late = await phone('late', 'opus', 1200);
    await sleep(1200);
    const whileIn = tonesHeard(listener.rtp, [600, 1200], performance.now() - 800);
    late.rtp.stopTalking();
    late.media.close('hung up');
    await until(async () => (await room.mixerCounts())?.talkers === 2, 5000, 'the late talker out of the mix');
    await sleep(1000);
    const afterLeave = tonesHeard(listener.rtp, [600, 1200], performance.now() - 800);

    expect(beforeJoin[600]).toBeGreaterThan(HEARD);
    expect(beforeJoin[1200]).toBeLessThan(NOT_HEARD);
    expect(whileIn[600]).toBeGreaterThan(HEARD);
    expect(whileIn[1200]).toBeGreaterThan(HEARD);
    expect(afterLeave[600]).toBeGreaterThan(HEARD);
    expect(afterLeave[1200]).toBeLessThan(NOT_HEARD);
  });

  it('keeps time over a minute of accelerated clock: as many packets as 20 ms periods, ±1, with no gap', { timeout: 30_000 }, async () => {
    let seed = 3;
    const time = new VirtualTime(() => ((seed = (seed * 48271) % 2147483647) % 8)); // timers fire 0-7 ms late
    const timedPlane = MediaPlane.create({ threads: 1, time }, log);
    onTestFinished(() => timedPlane.close());
    await openRoom('mix-clock', 3, timedPlane);
    const listener = await phone('listener', 'PCMU', 0);
    await phone('talker', 'PCMA', 800);
    const minute = 60_000;
    for (let elapsed = 0; elapsed < minute; elapsed += 20) {
      time.advance(20);
      if (elapsed % 200 === 0) await sleep(1); // let the packets through before the next burst
    }
    await until(() => listener.rtp.received.length >= minute / 20 - 1, 5000, 'the minute of packets');
    await sleep(200);
    const packets = listener.rtp.received;
    expect(Math.abs(packets.length - minute / 20)).toBeLessThanOrEqual(1);
    for (let i = 1; i < packets.length; i++) expect((packets[i]!.sequenceNumber - packets[i - 1]!.sequenceNumber) & 0xffff).toBe(1);
    expect((packets.at(-1)!.timestamp - packets[0]!.timestamp) >>> 0).toBe((packets.length - 1) * 160);
  });

  it('sends nothing to a phone holding the call, and nobody hears its hold music', { timeout: 20_000 }, async () => {
    await openRoom('mix-hold');
    const listener = await phone('listener', 'PCMU', 0);
    const holding = await phone('holding', 'G722', 700, 8000, 'sendonly');
    await sleep(1500);
    expect(holding.rtp.received).toHaveLength(0);
    const levels = tonesHeard(listener.rtp, [700], performance.now() - 800);
    expect(levels[700]).toBeLessThan(NOT_HEARD);
  });

  it.each<AudioCodecName>(['G722', 'opus'])('plays a muted %s phone its confirmation beep in its own codec over the mix, and leaves it out of the others\' mix', { timeout: 20_000 }, async (codec) => {
    await openRoom(`mix-mute-${codec.toLowerCase()}`);
    const muted = await phone('muted', codec, 500);
    const other = await phone('other', 'PCMU', 900);
    await sleep(1000);
    const mutedAt = performance.now();
    expect(await muted.media.setMuted(true)).toBe(true);
    expect(await muted.media.setMuted(true)).toBe(false);
    await sleep(1000);
    // 800 ms from just before the mute: the 200 ms beep lies mid-window, which the measure's Hann window fades at its edges.
    const { samples, sampleRate } = muted.rtp.heard(mutedAt - 200);
    const beepWindow = { toSeconds: 0.8 };
    expect(toneLevelDbfs(samples, sampleRate, TONE_HZ, beepWindow), `the muted ${codec} phone hears its beep`).toBeGreaterThan(-32);
    expect(toneLevelDbfs(samples, sampleRate, 900, beepWindow), 'and the meeting under it').toBeGreaterThan(HEARD);
    expect(tonesHeard(other.rtp, [500], mutedAt + 200)[500], 'nobody hears the muted phone').toBeLessThan(NOT_HEARD);
    expect(tonesHeard(other.rtp, [TONE_HZ], mutedAt)[TONE_HZ], 'nor its beep').toBeLessThan(NOT_HEARD);
  });

  it('closes its mixer with the last phone leg, leaving only the router', { timeout: 20_000 }, async () => {
    await openRoom('mix-close');
    const a = await phone('a', 'PCMU', 440);
    const b = await phone('b', 'PCMA', 880);
    expect(await room.mixerCounts()).toEqual({ talkers: 2, legs: 2 });
    for (const entry of [a, b]) {
      entry.rtp.close();
      entry.media.close('hung up');
    }
    phones.length = 0;
    await until(async () => (await room.mixerCounts()) === undefined && (await room.router.dump()).transportIds.length === 0, 5000, 'mixer gone');
  });
});
