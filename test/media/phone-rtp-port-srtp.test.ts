/**
 * The phone-facing relay with SRTP keys, with real UDP sockets standing in for the phone,
 * a stranger and mediasoup's side of the loopback: what the phone sends reaches mediasoup
 * decrypted, what fails to authenticate reaches nothing and moves no latch, the mix goes
 * to the phone protected; the phone's SRTCP is read (its plain RTCP is not), and our
 * reports and BYE go out as SRTCP.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { epochNowMs, PhoneRtpPort } from '../../src/media/phone-rtp-port.js';
import { readRtcp } from '../../src/media/rtcp/read-rtcp.js';
import { writeReceiverReport } from '../../src/media/rtcp/rtcp-packet.js';
import { RtcpSession } from '../../src/media/rtcp/rtcp-session.js';
import { SrtpSession } from '../../src/media/srtp/srtp-session.js';
import { rtpPacket } from '../support/rtp.js';
import { until } from '../support/until.js';

const sockets: Socket[] = [];
let port: PhoneRtpPort | undefined;

afterEach(() => {
  port?.close();
  for (const socket of sockets.splice(0)) socket.close();
});

async function endpoint(): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const received: Buffer[] = [];
  socket.on('message', (packet) => received.push(packet));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received };
}

const audio = (sequenceNumber: number, fill: number) => rtpPacket({ payloadType: 0, sequenceNumber, timestamp: sequenceNumber * 160, ssrc: 0x5151 }, Buffer.alloc(160, fill));

describe('PhoneRtpPort with SRTP', () => {
  it('relays the phone\'s SRTP decrypted, drops what does not authenticate before it can latch, and protects the mix', async () => {
    port = await PhoneRtpPort.open({ listenIp: '127.0.0.1', minPort: 41400, maxPort: 41499, producerSsrc: 0x77, latch: true });
    // The phone's SDP address is not where its packets come from (NAT): the first packet that authenticates is latched.
    const [announced, phone, stranger, mediasoup, meeting] = await Promise.all([endpoint(), endpoint(), endpoint(), endpoint(), endpoint()]);
    // The meeting's socket, connected to its PlainTransport (here `mediasoup`), relaying as while a browser listens.
    await new Promise<void>((resolve) => meeting.socket.connect(mediasoup.port, '127.0.0.1', resolve));
    port.relayThrough(meeting.socket);
    port.relay(true);
    const keys = { suite: 'AES_CM_128_HMAC_SHA1_80', localKey: randomBytes(30), remoteKey: randomBytes(30) } as const;
    port.secure(keys);
    port.setRemote({ ip: '127.0.0.1', port: announced.port }, true);
    const phoneSession = new SrtpSession({ suite: keys.suite, localKey: keys.remoteKey, remoteKey: keys.localKey });

    // A stranger first: plain RTP, and SRTP under a key of its own.
    const strangerSession = new SrtpSession({ suite: keys.suite, localKey: randomBytes(30), remoteKey: keys.localKey });
    stranger.socket.send(audio(1, 0x11), port.port, '127.0.0.1');
    stranger.socket.send(strangerSession.protectRtp(audio(2, 0x22))!, port.port, '127.0.0.1');
    phone.socket.send(phoneSession.protectRtp(audio(3, 0x33))!, port.port, '127.0.0.1');
    await until(() => mediasoup.received.length === 1, 2000, 'the phone\'s packet relayed');
    expect(mediasoup.received[0]!.readUInt16BE(2)).toBe(3);
    expect(mediasoup.received[0]!.readUInt32BE(8)).toBe(0x77);
    expect(mediasoup.received[0]!.subarray(12)).toEqual(Buffer.alloc(160, 0x33));
    expect(port.phoneAddress?.port).toBe(phone.port);

    port.sendToPhone(audio(4, 0x44));
    await until(() => phone.received.length === 1, 2000, 'the mix at the phone');
    expect(phone.received[0]!.includes(Buffer.alloc(32, 0x44))).toBe(false);
    expect(phoneSession.unprotectRtp(phone.received[0]!)).toEqual(audio(4, 0x44));
    expect(stranger.received).toHaveLength(0);
    expect(announced.received).toHaveLength(0);
  });

  it('reads the phone\'s SRTCP and sends our reports and BYE as SRTCP', async () => {
    port = await PhoneRtpPort.open({ listenIp: '127.0.0.1', minPort: 41400, maxPort: 41499, producerSsrc: 0x77, latch: true });
    const phone = await endpoint();
    const keys = { suite: 'AEAD_AES_128_GCM', localKey: randomBytes(28), remoteKey: randomBytes(28) } as const;
    port.secure(keys);
    port.setRemote({ ip: '127.0.0.1', port: phone.port }, true);
    const phoneSession = new SrtpSession({ suite: keys.suite, localKey: keys.remoteKey, remoteKey: keys.localKey });
    const session = new RtcpSession({ ssrc: 0x999, cname: 'test', clockRate: 8000, payloadType: 0, startMs: epochNowMs() });
    port.report(session);
    const receiverReport = (fractionLost: number) =>
      writeReceiverReport(0x5151, [{ ssrc: 0x999, fractionLost, cumulativeLost: 3, extendedHighestSequence: 1, jitter: 80, lastSenderReport: 0, delaySinceLastSenderReport: 0 }]);
    phone.socket.send(receiverReport(128), port.port, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(session.stats().reportedByPhone, 'plain RTCP is not read').toBeUndefined();
    phone.socket.send(phoneSession.protectRtcp(receiverReport(64))!, port.port, '127.0.0.1');
    await until(() => session.stats().reportedByPhone !== undefined, 2000, 'the phone\'s SRTCP RR read');
    expect(session.stats().reportedByPhone).toMatchObject({ fractionLost: 0.25, cumulativeLost: 3 });

    port.sendDueReport(session.nextReportAtMs);
    await until(() => phone.received.length === 1, 2000, 'our report at the phone');
    const ours = phoneSession.unprotectRtcp(phone.received[0]!);
    expect(ours && readRtcp(ours)).toMatchObject({ ok: true });
    port.close();
    port = undefined;
    await until(() => phone.received.length === 2, 2000, 'our BYE at the phone');
    expect(phoneSession.unprotectRtcp(phone.received[1]!)).toBeDefined();
  });
});
