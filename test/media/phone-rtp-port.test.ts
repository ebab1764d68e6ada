/**
 * The phone-facing relay with real UDP sockets standing in for the phone and for
 * mediasoup's side of the loopback: where media goes under RTP_COMEDIA on and off,
 * holds, and what a phone packet looks like when it reaches mediasoup.
 */
import { type Socket, createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ContinuousRtpStream } from '../../src/media/continuous-rtp-stream.js';
import { PhoneRtpPort } from '../../src/media/phone-rtp-port.js';
import { readRtp } from '../../src/media/rtp-packet.js';
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
const audio = (sequenceNumber: number) => rtpPacket({ payloadType: 0, sequenceNumber, timestamp: sequenceNumber * 160, ssrc: 0x5151 }, Buffer.alloc(160, 0xff));

async function relay(latch: boolean) {
  port = await PhoneRtpPort.open({ listenIp: '127.0.0.1', minPort: 41400, maxPort: 41499, producerSsrc: 0x77, latch });
  const [announced, natted, mediasoup] = await Promise.all([endpoint(), endpoint(), endpoint()]);
  await port.connectToMediasoup({ ip: '127.0.0.1', port: mediasoup.port });
  port.setRemote({ ip: '127.0.0.1', port: announced.port }, true);
  // mediasoup's side sends from its own socket to the port's loopback address.
  const fromMediasoup = (sequenceNumber: number) => send(mediasoup, audio(sequenceNumber), port!.loopbackAddress.port);
  return { port, announced, natted, mediasoup, fromMediasoup };
}

describe('PhoneRtpPort', () => {
  it('with RTP_COMEDIA on, sends to the SDP address until the phone\'s RTP arrives, then to where it comes from', async () => {
    const { port, announced, natted, fromMediasoup } = await relay(true);
    fromMediasoup(1);
    await until(() => announced.received.length === 1, 2000, 'packet at the SDP address');
    send(natted, audio(1), port.port);
    await until(() => port.phoneAddress?.port === natted.port, 2000, 'latched');
    fromMediasoup(2);
    await until(() => natted.received.length === 1, 2000, 'packet at the latched address');
    expect(announced.received).toHaveLength(1);
  });

  it('with RTP_COMEDIA off, sends only to the SDP address whatever the source of the phone\'s RTP', async () => {
    const { port, announced, natted, mediasoup, fromMediasoup } = await relay(false);
    send(natted, audio(1), port.port);
    await until(() => mediasoup.received.length === 1, 2000, 'phone audio relayed to mediasoup');
    fromMediasoup(2);
    await until(() => announced.received.length === 1, 2000, 'packet at the SDP address');
    expect(natted.received).toHaveLength(0);
  });

  it('sends nothing while the phone does not want media (hold), and again after', async () => {
    const { port, announced, fromMediasoup } = await relay(true);
    port.setRemote({ ip: '127.0.0.1', port: announced.port }, false);
    fromMediasoup(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(announced.received).toHaveLength(0);
    port.setRemote({ ip: '127.0.0.1', port: announced.port }, true);
    fromMediasoup(2);
    await until(() => announced.received.length === 1, 2000, 'packet after unhold');
  });

  it('stamps the producer SSRC and the measured level on phone audio, and the phone\'s payload type on ours', async () => {
    const { port, announced, natted, mediasoup, fromMediasoup } = await relay(true);
    port.measureLevels({ extensionId: 3, level: () => 33 });
    port.sendAs(new ContinuousRtpStream(0x999, 18, 8000));
    send(natted, audio(5), port.port);
    await until(() => mediasoup.received.length === 1, 2000, 'phone audio relayed');
    const toMediasoup = mediasoup.received[0]!;
    expect(toMediasoup.readUInt32BE(8)).toBe(0x77);
    expect(toMediasoup.readUInt16BE(12)).toBe(0xbede);
    expect(toMediasoup[16]).toBe(0x30);
    expect(toMediasoup[17]).toBe(33);

    port.setRemote({ ip: '127.0.0.1', port: announced.port }, true);
    fromMediasoup(9);
    await until(() => natted.received.length === 1, 2000, 'our audio at the phone');
    const toPhone = natted.received[0]!;
    expect(readRtp(toPhone)?.payloadType).toBe(18);
    expect(toPhone.readUInt32BE(8)).toBe(0x999);
  });

  it('passes no RTCP from mediasoup to the phone', async () => {
    const { port, announced, mediasoup } = await relay(true);
    const receiverReport = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
    send(mediasoup, receiverReport, port.loopbackAddress.port);
    send(mediasoup, audio(1), port.loopbackAddress.port);
    await until(() => announced.received.length === 1, 2000, 'the RTP packet');
    expect(announced.received[0]![1]).toBe(0);
  });
});
