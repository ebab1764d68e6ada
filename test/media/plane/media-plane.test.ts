/**
 * The media plane with two real media threads and a real mediasoup worker: meetings
 * placed on different threads keep to themselves (one thread saturated does not touch
 * the other's phones), and a thread that dies is replaced while the calls on it are
 * ended, with a cause that says the failure is temporary.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { PhoneMedia } from '../../../src/media/phone-media.js';
import { MediaPlane } from '../../../src/media/plane/media-plane.js';
import { MediaThreadLostError, type MediaThread } from '../../../src/media/plane/media-thread.js';
import { Room } from '../../../src/media/room.js';
import { readRtp } from '../../../src/media/rtp-packet.js';
import type { MemberEndReason } from '../../../src/media/room-notices.js';
import type { NegotiatedMedia } from '../../../src/media/sdp/negotiated-media.js';
import { WorkerPool } from '../../../src/media/worker-pool.js';
import { toneLevelDbfs } from '../../support/audio/tone.js';
import { pcmuTone, rtpPacket } from '../../support/rtp.js';
import { capturedLogger } from '../../support/log-capture.js';
import { RtpPhone } from '../../support/phone/rtp-phone.js';
import { until } from '../../support/until.js';

const PCMU: NegotiatedMedia['codec'] = { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} };
const HEARD = -25;

const { log } = capturedLogger();
let pool: WorkerPool;
let plane: MediaPlane;
const rooms: Room[] = [];
const phones: { rtp: RtpPhone; media: PhoneMedia }[] = [];

beforeAll(async () => {
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 44100, rtcMaxPort: 44199 }, log);
});
afterAll(() => pool.close());

beforeEach(() => {
  plane = MediaPlane.create({ threads: 2 }, log);
});

afterEach(async () => {
  for (const { rtp, media } of phones.splice(0)) {
    rtp.close();
    media.close('test over');
  }
  for (const room of rooms.splice(0)) room.close('shutdown');
  await plane.close();
});

async function openRoom(id: string): Promise<Room> {
  const room = await Room.create(id, pool.leastLoaded(), { maxParticipants: 10, mixer: { talkers: 3, plane } }, log);
  rooms.push(room);
  return room;
}

/** A PCMU phone in `room` talking `toneHz`, and what its channel was told when disconnected. */
async function phone(room: Room, id: string, toneHz: number) {
  const rtp = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz, amplitude: 8000 });
  const disconnects: Array<{ text: string; reason: MemberEndReason }> = [];
  const media = await PhoneMedia.open({
    room,
    identity: { id, displayName: id, kind: 'phone' },
    channel: { notify: () => undefined, disconnect: (text, reason) => disconnects.push({ text, reason }) },
    rtp: { listenIp: '127.0.0.1', minPort: 44200, maxPort: 44999 },
    latch: true,
  });
  await media.start({ codec: PCMU, remote: { ip: '127.0.0.1', port: rtp.port, rtcpMux: true }, direction: 'sendrecv', remoteDirection: 'sendrecv', ptime: 20 });
  rtp.talk(media.port);
  const entry = { rtp, media, disconnects };
  phones.push(entry);
  return entry;
}

/** The media thread a room's phones are on. */
async function threadOf(room: Room): Promise<MediaThread> {
  const { media, release } = await room.phoneMedia();
  release();
  return media.thread;
}

/** Packets received in [fromMs, toMs), and the longest gap between two of them. */
function received(rtp: RtpPhone, fromMs: number, toMs: number) {
  const packets = rtp.received.filter(({ atMs }) => atMs >= fromMs && atMs < toMs);
  let longestGapMs = 0;
  for (let i = 1; i < packets.length; i++) longestGapMs = Math.max(longestGapMs, packets[i]!.atMs - packets[i - 1]!.atMs);
  return { count: packets.length, longestGapMs };
}

describe('MediaPlane', () => {
  it('places meetings on the least loaded thread: two meetings, two threads', async () => {
    const first = await openRoom('plane-a');
    const second = await openRoom('plane-b');
    await phone(first, 'a1', 500);
    await phone(second, 'b1', 700);
    expect((await threadOf(first)).index).not.toBe((await threadOf(second)).index);
  });

  it('keeps a meeting\'s phones hearing each other while another media thread is saturated', { timeout: 30_000 }, async () => {
    const calm = await openRoom('calm');
    const busy = await openRoom('busy');
    const a = await phone(calm, 'a', 500);
    const b = await phone(calm, 'b', 900);
    const other = await phone(busy, 'c', 1300);
    await phone(busy, 'd', 1700);
    const busyThread = await threadOf(busy);
    expect(busyThread).not.toBe(await threadOf(calm));
    await sleep(1000);

    const from = performance.now();
    await busyThread.request('busy-for', { ms: 2500 });
    const to = performance.now();

    // The saturated thread sent its phones (almost) nothing while it spun.
    expect(received(other.rtp, from, to).count).toBeLessThan(((to - from) / 20) * 0.2);
    for (const [listener, talker] of [[a, b], [b, a]] as const) {
      const { count, longestGapMs } = received(listener.rtp, from, to);
      expect(count, 'a packet every 20 ms').toBeGreaterThanOrEqual(((to - from) / 20) * 0.95);
      // Not the 2.5 s the other meeting went without (on a shared 2-core machine, a phone here may see a short stall).
      expect(longestGapMs).toBeLessThan(250);
      const { samples, sampleRate } = listener.rtp.heard(from + 200);
      expect(toneLevelDbfs(samples, sampleRate, talker.rtp.options.toneHz!), `${listener.media.identity.id} hears the other`).toBeGreaterThan(HEARD);
    }
  });

  it('replaces a media thread that dies, and disconnects each call on it as media-lost (which its call ends with Q.850 cause 41); new calls work', { timeout: 30_000 }, async () => {
    const room = await openRoom('crash');
    const onCrashing = [await phone(room, 'x', 600), await phone(room, 'y', 1100)];
    const survivorRoom = await openRoom('survivor');
    const survivor = await phone(survivorRoom, 's', 800);
    const crashing = await threadOf(room);
    expect(crashing).not.toBe(await threadOf(survivorRoom));

    await expect(crashing.request('crash', {})).rejects.toBeInstanceOf(MediaThreadLostError);
    await until(() => onCrashing.every(({ disconnects }) => disconnects.length === 1), 5000, 'the calls on the dead thread disconnected');
    for (const { disconnects } of onCrashing) {
      expect(disconnects[0]!.reason).toBe('media-lost');
    }
    expect(survivor.disconnects).toEqual([]);
    expect(plane.thread(crashing.index)).not.toBe(crashing);
    expect(plane.thread(crashing.index).isLost).toBe(false);

    // The calls end as a call would (PhoneCall.close): their media closes.
    for (const { media } of onCrashing) media.close('media thread failed');
    const fresh = [await phone(room, 'x2', 600), await phone(room, 'y2', 1100)];
    await sleep(1500);
    const { samples, sampleRate } = fresh[0]!.rtp.heard(performance.now() - 800);
    expect(toneLevelDbfs(samples, sampleRate, 1100)).toBeGreaterThan(HEARD);
    expect(await room.mixerCounts()).toEqual({ talkers: 2, legs: 2 });
  });

  it('mixes a browser that joins after the phones, through the meeting\'s one PlainTransport, until it leaves', { timeout: 20_000 }, async () => {
    const room = await openRoom('late-browser');
    const listener = await phone(room, 'listener', 0);
    // A browser as mediasoup sees one: a member whose opus producer is not a phone's.
    const browser = await RtpPhone.open({ codec: 'opus', payloadType: 111, toneHz: 1300, amplitude: 8000 });
    onTestFinished(() => browser.close());
    const member = room.admit({ id: 'web', displayName: 'web', kind: 'browser' }, { notify: () => undefined, disconnect: () => undefined });
    const transport = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    member.adopt(transport);
    await member.produce(transport.id, {
      codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111, parameters: {} }],
      encodings: [{ ssrc: readRtp(browser.nextPacket())!.ssrc }],
    });
    browser.talk(transport.tuple.localPort);
    await until(async () => (await room.mixerCounts())?.talkers === 2, 5000, 'the browser in the mix');
    await sleep(1500);
    const { samples, sampleRate } = listener.rtp.heard(performance.now() - 800);
    expect(toneLevelDbfs(samples, sampleRate, 1300)).toBeGreaterThan(HEARD);

    room.remove('web', 'left');
    await until(async () => (await room.mixerCounts())?.talkers === 1, 5000, 'the browser out of the mix');
  });

  it('tells when the phone last sent RTP: not before its first packet, then within the last moment', async () => {
    const room = await openRoom('last-received');
    const rtp = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz: 500, amplitude: 8000 });
    const media = await PhoneMedia.open({
      room,
      identity: { id: 'quiet', displayName: 'quiet', kind: 'phone' },
      channel: { notify: () => undefined, disconnect: () => undefined },
      rtp: { listenIp: '127.0.0.1', minPort: 44200, maxPort: 44999 },
      latch: true,
    });
    phones.push({ rtp, media });
    expect(media.lastReceivedAt()).toBeUndefined();
    rtp.talk(media.port);
    await until(() => media.lastReceivedAt() !== undefined, 2000, 'the first packet seen');
    await sleep(300);
    expect(Date.now() - media.lastReceivedAt()!).toBeLessThan(200);
    rtp.stopTalking();
    await sleep(500);
    expect(Date.now() - media.lastReceivedAt()!).toBeGreaterThanOrEqual(400);
  });

  it('reports the ticks of every thread in one view, and each thread\'s own', async () => {
    const room = await openRoom('stats');
    await phone(room, 'p', 500);
    await sleep(500);
    const stats = await plane.stats();
    expect(stats.threads).toHaveLength(2);
    expect(stats.mixers).toBe(1);
    expect(stats.ticks).toBeGreaterThan(10);
    expect(stats.threads.map(({ ports }) => ports).sort()).toEqual([0, 1]);
  });

  it('counts what the metrics read: phones\' packets in, out and lost, tick lateness and CPU, closed ports and a dead thread included', { timeout: 30_000 }, async () => {
    const room = await openRoom('counted');
    const talker = await phone(room, 'talker', 500);
    // A phone of our own making: 20 packets with sequence numbers 1-10 and 13-22, two lost.
    const lossy = await RtpPhone.open({ codec: 'PCMU', payloadType: 0 });
    const media = await PhoneMedia.open({
      room,
      identity: { id: 'lossy', displayName: 'lossy', kind: 'phone' },
      channel: { notify: () => undefined, disconnect: () => undefined },
      rtp: { listenIp: '127.0.0.1', minPort: 44200, maxPort: 44999 },
      latch: true,
    });
    phones.push({ rtp: lossy, media });
    await media.start({ codec: PCMU, remote: { ip: '127.0.0.1', port: lossy.port, rtcpMux: true }, direction: 'sendrecv', remoteDirection: 'sendrecv', ptime: 20 });
    expect(media.firstRtpAt()).toBeUndefined();
    for (const sequenceNumber of [...Array.from({ length: 10 }, (_, i) => i + 1), ...Array.from({ length: 10 }, (_, i) => i + 13)]) {
      lossy.send(rtpPacket({ payloadType: 0, sequenceNumber, timestamp: sequenceNumber * 160, ssrc: 0x1234 }, pcmuTone(440, sequenceNumber)), media.port);
      await sleep(20);
    }
    await until(() => media.firstRtpAt() !== undefined, 2000, 'the first RTP seen');
    expect(media.firstRtpAt()).toBeLessThanOrEqual(Date.now());
    await until(async () => (await plane.totals()).phonePackets.lost === 2, 3000, 'the two lost packets counted');
    const live = await plane.totals();
    expect(live.ports).toBe(2);
    // The talker's tone and the lossy phone's 20, and the mix to both.
    expect(live.phonePackets.received).toBeGreaterThanOrEqual(20 + 10);
    expect(live.phonePackets.sent).toBeGreaterThan(10);
    expect(live.tickLateness.count).toBeGreaterThan(10);
    expect(live.tickLateness.buckets.at(-1)).toBe(live.tickLateness.count);
    expect(live.threadCpuMs).toHaveLength(2);
    expect(Math.max(...live.threadCpuMs)).toBeGreaterThan(0);

    // A closed port's counts stay.
    media.close('test over');
    await until(async () => (await plane.totals()).ports === 1, 2000, 'the port closed');
    const closed = await plane.totals();
    expect(closed.phonePackets.lost).toBe(2);
    expect(closed.phonePackets.received).toBeGreaterThanOrEqual(live.phonePackets.received);

    // So do a dead thread's, as of the last time it was asked.
    const thread = await threadOf(room);
    await expect(thread.request('crash', {})).rejects.toBeInstanceOf(MediaThreadLostError);
    await until(() => talker.disconnects.length === 1, 5000, 'the talker disconnected');
    const after = await plane.totals();
    expect(after.phonePackets.lost).toBe(2);
    expect(after.phonePackets.received).toBeGreaterThanOrEqual(closed.phonePackets.received);
    expect(after.tickLateness.count).toBeGreaterThanOrEqual(closed.tickLateness.count);
  });
});
