/**
 * The phone-facing relay with SRTP keys, with real UDP sockets standing in for the phone,
 * a stranger and mediasoup's side of the loopback: what the phone sends reaches mediasoup
 * decrypted, what fails to authenticate reaches nothing and moves no latch, and the mix
 * goes to the phone protected.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { PhoneRtpPort } from '../../src/media/phone-rtp-port.js';
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
    const [announced, phone, stranger, mediasoup] = await Promise.all([endpoint(), endpoint(), endpoint(), endpoint()]);
    await port.connectToMediasoup({ ip: '127.0.0.1', port: mediasoup.port });
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
});
