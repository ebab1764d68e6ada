/**
 * A phone's audio reaches mediasoup only while a browser consumes it: a meeting of phones
 * alone sends mediasoup nothing, a browser that consumes a phone hears it from its first
 * packets on, and the relay stops when the last browser leaves. Whether a phone speaks is
 * judged in its media thread, so the roster shows it either way. Real media threads, a
 * real mediasoup worker; the "browser" is a member consuming through a PlainTransport to
 * a socket of the test's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PhoneMedia } from '../../../src/media/phone-media.js';
import { MediaPlane } from '../../../src/media/plane/media-plane.js';
import { Room } from '../../../src/media/room.js';
import type { RoomNotice } from '../../../src/media/room-notices.js';
import type { NegotiatedMedia } from '../../../src/media/sdp/negotiated-media.js';
import { WorkerPool } from '../../../src/media/worker-pool.js';
import { toneLevelDbfs } from '../../support/audio/tone.js';
import { capturedLogger } from '../../support/log-capture.js';
import { RtpPhone } from '../../support/phone/rtp-phone.js';
import { until } from '../../support/until.js';

const PCMU: NegotiatedMedia['codec'] = { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} };
const HEARD = -25;

const { log } = capturedLogger();
let pool: WorkerPool;
let plane: MediaPlane;
let room: Room;
const closers: Array<() => void> = [];

beforeAll(async () => {
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 45000, rtcMaxPort: 45099 }, log);
});
afterAll(() => pool.close());

beforeEach(async () => {
  plane = MediaPlane.create({ threads: 1 }, log);
  room = await Room.create(`relay-${Date.now()}`, pool.leastLoaded(), { maxParticipants: 10, mixer: { talkers: 3, plane } }, log);
});

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  room.close('shutdown');
  await plane.close();
});

/** A PCMU phone in the room, talking `toneHz` (silence for 0). */
async function phone(id: string, toneHz: number) {
  const rtp = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz, amplitude: 8000 });
  const media = await PhoneMedia.open({
    room,
    identity: { id, displayName: id, kind: 'phone' },
    channel: { notify: () => undefined, disconnect: () => undefined },
    rtp: { listenIp: '127.0.0.1', minPort: 45100, maxPort: 45499 },
    latch: true,
  });
  closers.push(() => {
    rtp.close();
    media.close('test over');
  });
  await media.start({ codec: PCMU, remote: { ip: '127.0.0.1', port: rtp.port, rtcpMux: true }, direction: 'sendrecv', remoteDirection: 'sendrecv', ptime: 20 });
  rtp.talk(media.port);
  return { rtp, media, producer: media.producer! };
}

/** A browser as the room sees one: a member with a transport it receives on (here a PlainTransport to a socket of ours). */
async function browser(id: string) {
  const notices: RoomNotice[] = [];
  const member = room.admit({ id, displayName: id, kind: 'browser' }, { notify: (notice) => notices.push(notice), disconnect: () => undefined });
  member.rtpCapabilities = room.router.rtpCapabilities;
  const ears = await RtpPhone.open({ codec: 'PCMU', payloadType: 0 });
  closers.push(() => ears.close());
  const transport = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  member.adopt(transport);
  await transport.connect({ ip: '127.0.0.1', port: ears.port });
  return { member, ears, transport, notices };
}

/** RTP packets mediasoup received on the producer's stream (none before its first). */
async function packetsInto(producer: types.Producer): Promise<number> {
  const stats = await producer.getStats();
  return stats.reduce((sum, stream) => sum + stream.packetCount, 0);
}

const speakingPhones = () => room.views().filter((view) => view.kind === 'phone' && view.speaking).map((view) => view.id);

describe('a phone\'s relay to mediasoup', () => {
  it('sends mediasoup nothing while no browser consumes the phone, a browser that only joined included', { timeout: 20_000 }, async () => {
    const talker = await phone('talker', 1000);
    const listener = await phone('listener', 0);
    await browser('watching');
    await sleep(1500);
    expect(await packetsInto(talker.producer)).toBe(0);
    expect(await packetsInto(listener.producer)).toBe(0);
    // The phones hear each other all the same.
    const { samples, sampleRate } = listener.rtp.heard(performance.now() - 800);
    expect(toneLevelDbfs(samples, sampleRate, 1000)).toBeGreaterThan(HEARD);
  });

  it('starts when a browser consumes the phone, which hears it from its first packets on, and stops when the browser leaves', { timeout: 20_000 }, async () => {
    const talker = await phone('talker', 1000);
    await sleep(500);
    const web = await browser('web');
    expect(await packetsInto(talker.producer)).toBe(0);

    const consumer = await web.member.consume(web.transport.id, talker.producer.id);
    // Resumed at once, as early as a browser could: the relay already runs.
    await web.member.resume(consumer.id);
    const resumedAt = performance.now();
    await sleep(1500);
    const packets = web.ears.received;
    expect(packets.length).toBeGreaterThan(60);
    // The first packet sent after the resume is there (a phone sends every 20 ms; loopback adds nothing).
    expect(packets[0]!.atMs - resumedAt).toBeLessThan(60);
    for (let i = 1; i < packets.length; i++) expect((packets[i]!.sequenceNumber - packets[i - 1]!.sequenceNumber) & 0xffff, 'no packet missing').toBe(1);
    const { samples, sampleRate } = web.ears.heard();
    expect(toneLevelDbfs(samples, sampleRate, 1000), 'the browser hears the phone').toBeGreaterThan(HEARD);

    room.remove('web', 'left');
    await sleep(200);
    const afterLeaving = await packetsInto(talker.producer);
    await sleep(600);
    expect(await packetsInto(talker.producer), 'nothing relayed once the browser left').toBe(afterLeaving);
  });

  it('starts again for a browser that comes after another left, which hears the phone too', { timeout: 20_000 }, async () => {
    const talker = await phone('talker', 700);
    const first = await browser('first');
    await first.member.resume((await first.member.consume(first.transport.id, talker.producer.id)).id);
    await sleep(500);
    room.remove('first', 'left');
    await sleep(1000);

    const second = await browser('second');
    await second.member.resume((await second.member.consume(second.transport.id, talker.producer.id)).id);
    const resumedAt = performance.now();
    await sleep(1200);
    expect(second.ears.received.length).toBeGreaterThan(45);
    expect(second.ears.received[0]!.atMs - resumedAt).toBeLessThan(60);
    const { samples, sampleRate } = second.ears.heard();
    expect(toneLevelDbfs(samples, sampleRate, 700)).toBeGreaterThan(HEARD);
  });
});

describe('a phone\'s speaking flag, judged in its media thread', () => {
  it('reaches the roster and the browsers while the phone talks, without a browser consuming it, and goes when it stops', { timeout: 20_000 }, async () => {
    const web = await browser('web');
    const talker = await phone('talker', 1000);
    await phone('silent', 0);
    await until(() => speakingPhones().includes('talker'), 3000, 'the talking phone speaking');
    expect(speakingPhones()).toEqual(['talker']);
    expect(web.notices).toContainEqual({ kind: 'speakers-changed', memberIds: ['talker'] });
    expect(await packetsInto(talker.producer)).toBe(0);

    talker.rtp.stopTalking();
    await until(() => speakingPhones().length === 0, 3000, 'the phone no longer speaking');
    expect(web.notices.at(-1)).toEqual({ kind: 'speakers-changed', memberIds: [] });
  });

  it('is not raised for a phone that holds the call, whatever it plays', { timeout: 20_000 }, async () => {
    const holding = await phone('holding', 1000);
    await until(() => speakingPhones().includes('holding'), 3000, 'the phone speaking');
    await holding.media.update({ remote: { ip: '127.0.0.1', port: holding.rtp.port, rtcpMux: true }, remoteDirection: 'sendonly' });
    await until(() => speakingPhones().length === 0, 3000, 'the held phone no longer speaking');
    await sleep(700);
    expect(speakingPhones()).toEqual([]);
  });
});
