/**
 * RTCP between a phone and its call's port on a real media thread: the phone gets our
 * reports (an SR about the mix it receives, with a block about its own stream) from the
 * port it sends to, its own RR about our stream shows in the call's quality, with the
 * round-trip time its LSR/DLSR give, and hanging up sends it a BYE.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PhoneMedia } from '../../../src/media/phone-media.js';
import { MediaPlane } from '../../../src/media/plane/media-plane.js';
import { compactNtp, msToCompactUnits } from '../../../src/media/rtcp/ntp-time.js';
import { readRtcp } from '../../../src/media/rtcp/read-rtcp.js';
import { type RtcpPacket, writeReceiverReport } from '../../../src/media/rtcp/rtcp-packet.js';
import { Room } from '../../../src/media/room.js';
import type { NegotiatedMedia } from '../../../src/media/sdp/negotiated-media.js';
import { WorkerPool } from '../../../src/media/worker-pool.js';
import { capturedLogger } from '../../support/log-capture.js';
import { RtpPhone } from '../../support/phone/rtp-phone.js';
import { until } from '../../support/until.js';

const PCMU: NegotiatedMedia['codec'] = { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} };

const { log } = capturedLogger();
let pool: WorkerPool;
let plane: MediaPlane;
let room: Room;
let phone: RtpPhone;
let media: PhoneMedia | undefined;

beforeAll(async () => {
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 45100, rtcMaxPort: 45199 }, log);
  plane = MediaPlane.create({ threads: 1 }, log);
  room = await Room.create('rtcp-room', pool.leastLoaded(), { maxParticipants: 10, mixer: { talkers: 3, plane } }, log);
});
afterAll(async () => {
  room.close('shutdown');
  await plane.close();
  pool.close();
});
afterEach(() => {
  phone?.close();
  media?.close('test over');
});

/** Every packet of the compounds the phone got so far. */
function rtcpAtPhone(): { packet: RtcpPacket; atMs: number }[] {
  return phone.rtcpReceived.flatMap(({ packet, atMs }) => {
    const read = readRtcp(packet);
    if (!read.ok) throw new Error(read.error);
    return read.packets.map((one) => ({ packet: one, atMs }));
  });
}

it('sends the phone SRs about its mix, reads its RR into the call\'s quality, and ends with a BYE', async () => {
  phone = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz: 440, amplitude: 8000 });
  media = await PhoneMedia.open({
    room,
    identity: { id: 'caller', displayName: 'caller', kind: 'phone' },
    channel: { notify: () => undefined, disconnect: () => undefined },
    rtp: { listenIp: '127.0.0.1', minPort: 45200, maxPort: 45299 },
    latch: true,
  });
  expect(await media.quality()).toBeUndefined();
  await media.start({ codec: PCMU, remote: { ip: '127.0.0.1', port: phone.port, rtcpMux: true }, direction: 'sendrecv', remoteDirection: 'sendrecv', ptime: 20 });
  phone.talk(media.port);

  // The first report is due 1.0-3.1 s into the call (RFC 3550 §6.2, halved initial interval).
  await until(() => rtcpAtPhone().some(({ packet }) => packet.type === 'sender-report'), 6000, 'our first SR');
  const { packet: report, atMs: reportAt } = rtcpAtPhone().find(({ packet }) => packet.type === 'sender-report')!;
  if (report.type !== 'sender-report') throw new Error('unreachable');
  const ourSsrc = phone.received.at(-1)!.ssrc;
  expect(report.ssrc).toBe(ourSsrc);
  expect(report.sender.packetCount).toBeGreaterThan(0);
  expect(report.reports).toHaveLength(1);
  const [aboutPhone] = report.reports;
  expect(aboutPhone!.ssrc).toBe(phone.ssrc);
  expect(aboutPhone!.fractionLost).toBe(0);
  expect(aboutPhone!.cumulativeLost).toBe(0);
  // The highest sequence it saw is one the phone sent before the report arrived.
  const behind = (phone.lastSequenceNumber - (aboutPhone!.extendedHighestSequence & 0xffff)) & 0xffff;
  expect(behind).toBeLessThan(50);
  expect(rtcpAtPhone().some(({ packet }) => packet.type === 'source-description')).toBe(true);

  // The phone's RR about our stream: 10 % lost, 20 ms of jitter, echoing our SR after 30 ms.
  const lastSenderReport = compactNtp({ seconds: report.sender.ntpSeconds, fraction: report.sender.ntpFraction });
  const holdMs = 30;
  await new Promise((resolve) => setTimeout(resolve, holdMs));
  const delay = performance.timeOrigin + performance.now() - reportAt;
  phone.send(
    writeReceiverReport(phone.ssrc, [
      {
        ssrc: ourSsrc,
        fractionLost: 26,
        cumulativeLost: 7,
        extendedHighestSequence: phone.received.at(-1)!.sequenceNumber,
        jitter: 160,
        lastSenderReport,
        delaySinceLastSenderReport: msToCompactUnits(delay),
      },
    ]),
    media.port,
  );
  await until(async () => (await media!.quality())?.reportedByPhone !== undefined, 2000, 'the phone\'s RR in the quality');
  const quality = (await media.quality())!;
  expect(quality.reportedByPhone).toMatchObject({ fractionLost: 26 / 256, cumulativeLost: 7, jitterMs: 20 });
  // Both ways on loopback, plus the hop from the media thread: well under 100 ms.
  expect(quality.roundTripMs).toBeGreaterThanOrEqual(0);
  expect(quality.roundTripMs).toBeLessThan(100);
  expect(quality.received).toMatchObject({ lost: 0, fractionLost: 0 });
  expect(quality.received!.packets).toBeGreaterThan(40);
  expect(quality.received!.jitterMs).toBeLessThan(20);
  expect(quality.sent.packets).toBeGreaterThan(40);

  media.close('hung up');
  media = undefined;
  await until(() => rtcpAtPhone().some(({ packet }) => packet.type === 'goodbye'), 2000, 'our BYE');
  const goodbye = rtcpAtPhone().find(({ packet }) => packet.type === 'goodbye')!.packet;
  expect(goodbye).toMatchObject({ type: 'goodbye', ssrcs: [ourSsrc], reason: 'call ended' });
});
