/**
 * The phone-facing relay with real UDP sockets standing in for the phone, for the
 * meeting's socket it relays through and for mediasoup's side of the loopback: where media goes under RTP_COMEDIA on and off,
 * holds, when and how a phone packet reaches mediasoup, where RTCP goes, and which RTCP
 * counts as the phone's.
 */
import { type Socket, createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { epochNowMs, PhoneRtpPort } from '../../src/media/phone-rtp-port.js';
import { readRtcp } from '../../src/media/rtcp/read-rtcp.js';
import { writeReceiverReport, writeSenderReport } from '../../src/media/rtcp/rtcp-packet.js';
import { RtcpSession } from '../../src/media/rtcp/rtcp-session.js';
import { isRtcp } from '../../src/media/rtp-packet.js';
import { rtpPacket } from '../support/rtp.js';
import { until } from '../support/until.js';

const sockets: Socket[] = [];
let port: PhoneRtpPort | undefined;

afterEach(() => {
  port?.close();
  for (const socket of sockets.splice(0)) socket.close();
});

interface Endpoint {
  readonly socket: Socket;
  readonly port: number;
  readonly received: Buffer[];
}

async function endpoint(): Promise<Endpoint> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const received: Buffer[] = [];
  socket.on('message', (packet) => received.push(packet));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received };
}

const send = (from: Endpoint, packet: Buffer, toPort: number) => from.socket.send(packet, toPort, '127.0.0.1');
const readRtpSequence = (packet: Buffer) => packet.readUInt16BE(2);
const audio = (sequenceNumber: number) => rtpPacket({ payloadType: 0, sequenceNumber, timestamp: sequenceNumber * 160, ssrc: 0x5151 }, Buffer.alloc(160, 0xff));

async function relay(latch: boolean) {
  port = await PhoneRtpPort.open({ listenIp: '127.0.0.1', minPort: 41400, maxPort: 41499, producerSsrc: 0x77, latch });
  const [announced, natted, mediasoup, meeting] = await Promise.all([endpoint(), endpoint(), endpoint(), endpoint()]);
  // The meeting's socket, connected to its PlainTransport (here `mediasoup`), as a media thread has one.
  await new Promise<void>((resolve) => meeting.socket.connect(mediasoup.port, '127.0.0.1', resolve));
  port.relayThrough(meeting.socket);
  // As while a browser consumes the phone.
  port.relay(true);
  port.setRemote({ ip: '127.0.0.1', port: announced.port }, true);
  // The meeting's mix for the phone, as the mixer's leg hands it over.
  const toPhone = (sequenceNumber: number) => port!.sendToPhone(audio(sequenceNumber));
  return { port, announced, natted, mediasoup, meeting, toPhone };
}

describe('PhoneRtpPort', () => {
  it('with RTP_COMEDIA on, sends to the SDP address until the phone\'s RTP arrives, then to where it comes from', async () => {
    const { port, announced, natted, toPhone } = await relay(true);
    toPhone(1);
    await until(() => announced.received.length === 1, 2000, 'packet at the SDP address');
    send(natted, audio(1), port.port);
    await until(() => port.phoneAddress?.port === natted.port, 2000, 'latched');
    toPhone(2);
    await until(() => natted.received.length === 1, 2000, 'packet at the latched address');
    expect(announced.received).toHaveLength(1);
  });

  it('with RTP_COMEDIA on, once latched drops RTP from any other address: it neither reaches mediasoup nor draws the meeting\'s audio (RTP bleed)', async () => {
    const { port, natted, mediasoup, toPhone } = await relay(true);
    const stranger = await endpoint();
    send(natted, audio(1), port.port);
    await until(() => mediasoup.received.length === 1, 2000, 'the phone\'s audio relayed');
    send(stranger, audio(2), port.port);
    send(natted, audio(3), port.port);
    await until(() => mediasoup.received.length === 2, 2000, 'the phone\'s next packet relayed');
    expect(mediasoup.received.map((p) => p.readUInt16BE(2))).toEqual([1, 3]);
    expect(port.phoneAddress?.port).toBe(natted.port);
    toPhone(4);
    await until(() => natted.received.length === 1, 2000, 'the mix at the phone');
    expect(stranger.received).toHaveLength(0);
  });

  it('with RTP_COMEDIA on, the SDP address may take the latch over, and a new SDP address (a re-INVITE) is learnt again', async () => {
    const { port, announced, natted, mediasoup } = await relay(true);
    send(natted, audio(1), port.port);
    await until(() => port.phoneAddress?.port === natted.port, 2000, 'latched to the NATed source');
    send(announced, audio(2), port.port);
    await until(() => port.phoneAddress?.port === announced.port, 2000, 'latched to the SDP address');
    const moved = await endpoint();
    port.setRemote({ ip: '127.0.0.1', port: moved.port }, true);
    send(natted, audio(3), port.port);
    await until(() => port.phoneAddress?.port === natted.port, 2000, 'learnt again after the new SDP');
    await until(() => mediasoup.received.length === 3, 2000, 'all three relayed');
  });

  it('with RTP_COMEDIA off, sends only to the SDP address whatever the source of the phone\'s RTP', async () => {
    const { port, announced, natted, mediasoup, toPhone } = await relay(false);
    send(natted, audio(1), port.port);
    await until(() => mediasoup.received.length === 1, 2000, 'phone audio relayed to mediasoup');
    toPhone(2);
    await until(() => announced.received.length === 1, 2000, 'packet at the SDP address');
    expect(natted.received).toHaveLength(0);
  });

  it('sends nothing while the phone does not want media (hold), and again after', async () => {
    const { port, announced, toPhone } = await relay(true);
    port.setRemote({ ip: '127.0.0.1', port: announced.port }, false);
    toPhone(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(announced.received).toHaveLength(0);
    port.setRemote({ ip: '127.0.0.1', port: announced.port }, true);
    toPhone(2);
    await until(() => announced.received.length === 1, 2000, 'packet after unhold');
  });

  it('stamps the producer SSRC and the measured level on phone audio', async () => {
    const { port, natted, mediasoup } = await relay(true);
    port.measureLevels({ extensionId: 3, level: () => 33 });
    send(natted, audio(5), port.port);
    await until(() => mediasoup.received.length === 1, 2000, 'phone audio relayed');
    const toMediasoup = mediasoup.received[0]!;
    expect(toMediasoup.readUInt32BE(8)).toBe(0x77);
    expect(toMediasoup.readUInt16BE(12)).toBe(0xbede);
    expect(toMediasoup[16]).toBe(0x30);
    expect(toMediasoup[17]).toBe(33);
  });

  it('relays to mediasoup only while told to; the mixer hears the phone either way, with the level measured and not written', async () => {
    const { port, natted, mediasoup } = await relay(true);
    port.relay(false);
    port.measureLevels({ extensionId: 3, level: () => 33 });
    const heard: Array<{ packet: Buffer; level: number | undefined }> = [];
    port.hear((packet, _rtp, level) => heard.push({ packet, level }));
    send(natted, audio(1), port.port);
    await until(() => heard.length === 1, 2000, 'the phone heard');
    expect(heard[0]!.level).toBe(33);
    expect(heard[0]!.packet[0]! & 0x10).toBe(0);
    port.relay(true);
    send(natted, audio(2), port.port);
    await until(() => mediasoup.received.length === 1, 2000, 'relayed once told to');
    port.relay(false);
    send(natted, audio(3), port.port);
    await until(() => heard.length === 3, 2000, 'the third packet heard');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mediasoup.received.map((packet) => readRtpSequence(packet))).toEqual([2]);
  });

  it('passes nothing from mediasoup to the phone', async () => {
    const { announced, mediasoup, meeting, toPhone } = await relay(true);
    const receiverReport = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
    send(mediasoup, receiverReport, meeting.port);
    send(mediasoup, audio(1), meeting.port);
    await new Promise((resolve) => setTimeout(resolve, 50));
    toPhone(7);
    await until(() => announced.received.length === 1, 2000, 'our packet');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(announced.received.map((packet) => packet.readUInt16BE(2))).toEqual([7]);
  });

  it('reads the phone\'s RTCP, sends our reports to its RTP address under rtcp-mux, and a BYE on close', async () => {
    const { port, announced, natted } = await relay(true);
    const session = new RtcpSession({ ssrc: 0x999, cname: 'test', clockRate: 8000, payloadType: 0, startMs: epochNowMs() });
    port.report(session);
    port.sendToPhone(rtpPacket({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x999 }, Buffer.alloc(160, 0xff)));
    send(natted, audio(1), port.port);
    send(natted, audio(2), port.port);
    send(natted, audio(3), port.port);
    send(natted, writeReceiverReport(0x5151, [{ ssrc: 0x999, fractionLost: 64, cumulativeLost: 3, extendedHighestSequence: 1, jitter: 80, lastSenderReport: 0, delaySinceLastSenderReport: 0 }]), port.port);
    await until(() => session.stats().reportedByPhone !== undefined, 2000, 'the phone\'s RR read');
    expect(session.stats().reportedByPhone).toMatchObject({ fractionLost: 0.25, cumulativeLost: 3, jitterMs: 10 });
    // The first packet only starts the source's probation (RFC 3550 A.1).
    expect(session.stats().received).toMatchObject({ packets: 2, extendedHighestSequence: 3 });
    expect(session.stats().sent).toEqual({ ssrc: 0x999, packets: 1, octets: 160 });

    port.sendDueReport(session.nextReportAtMs);
    await until(() => natted.received.some(isRtcp), 2000, 'our report at the latched address');
    const report = readRtcp(natted.received.find(isRtcp)!);
    expect(report.ok && report.packets[0]).toMatchObject({ type: 'sender-report', ssrc: 0x999, reports: [{ ssrc: 0x5151, extendedHighestSequence: 3, fractionLost: 0 }] });

    port.close();
    await until(() => natted.received.filter(isRtcp).length === 2, 2000, 'the BYE');
    const goodbye = readRtcp(natted.received.filter(isRtcp)[1]!);
    expect(goodbye.ok && goodbye.packets.at(-1)).toMatchObject({ type: 'goodbye', ssrcs: [0x999], reason: 'call ended' });
    expect(announced.received.filter(isRtcp)).toHaveLength(0);
  });

  it('without rtcp-mux, sends our reports to the phone\'s RTCP port', async () => {
    const { port, announced } = await relay(false);
    const rtcpSocket = await endpoint();
    port.setRemote({ ip: '127.0.0.1', port: announced.port }, false, { rtcpMux: false, rtcpPort: rtcpSocket.port });
    const session = new RtcpSession({ ssrc: 0x999, cname: 'test', clockRate: 8000, payloadType: 0, startMs: epochNowMs() });
    port.report(session);
    port.sendDueReport(session.nextReportAtMs);
    await until(() => rtcpSocket.received.length === 1, 2000, 'our RR at the RTCP port');
    const report = readRtcp(rtcpSocket.received[0]!);
    expect(report.ok && report.packets[0]).toMatchObject({ type: 'receiver-report', ssrc: 0x999, reports: [] });
    expect(announced.received).toHaveLength(0);
  });

  it('counts only the phone\'s own RTCP as a sign of its life: a report about another call, from the phone\'s address, does not keep a silent phone\'s call alive', async () => {
    const lastReceived = new Float64Array(2);
    port = await PhoneRtpPort.open({ listenIp: '127.0.0.1', minPort: 41400, maxPort: 41499, producerSsrc: 0x77, latch: true, lastReceived });
    const [phone, otherPort] = await Promise.all([endpoint(), endpoint()]);
    port.setRemote({ ip: '127.0.0.1', port: phone.port }, true, { rtcpMux: false, rtcpPort: phone.port + 1 });
    // The meeting's mix to the phone (SSRC 0x999), the phone's RTP (SSRC 0x5151).
    port.sendToPhone(rtpPacket({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x999 }, Buffer.alloc(160, 0xff)));
    send(phone, audio(1), port.port);
    await until(() => lastReceived[0] !== 0, 2000, 'the phone\'s RTP seen');
    const lastRtpAt = lastReceived[0]!;
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Our own reports for another call (SSRC 0x4242, about its phone 0x6161), as they reach this
    // port when that phone, on this host without rtcp-mux, has its RTP port just below it.
    const sender = { ntpSeconds: 1, ntpFraction: 0, rtpTimestamp: 160, packetCount: 1, octetCount: 160 };
    const block = (ssrc: number) => ({ ssrc, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 1, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 });
    send(otherPort, writeSenderReport(0x4242, sender, [block(0x6161)]), port.port);
    send(otherPort, writeReceiverReport(0x4242, [block(0x6161)]), port.port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lastReceived[0]).toBe(lastRtpAt);

    // The phone's own RTCP, from its RTCP port: by its SSRC, or by a report on what we send it.
    send(otherPort, writeReceiverReport(0x5151, [block(0x2222)]), port.port);
    await until(() => lastReceived[0]! > lastRtpAt, 2000, 'the phone\'s RR counted');
    const lastRtcpAt = lastReceived[0]!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    send(otherPort, writeReceiverReport(0x1234, [block(0x999)]), port.port);
    await until(() => lastReceived[0]! > lastRtcpAt, 2000, 'a report on our stream counted');
  });
});
