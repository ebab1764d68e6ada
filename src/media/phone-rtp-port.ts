/**
 * The UDP port a phone sends its RTP to, relaying between the phone and the call's
 * mediasoup PlainTransport on loopback. mediasoup can only route a producer's RTP by a
 * known SSRC, and phones rarely announce theirs in SDP (and change it on re-INVITEs), so
 * every packet gets the leg's fixed SSRC stamped on its way in (and, where the gateway
 * can measure it, an RFC 6464 audio level). The port can learn the phone's address from
 * its packets (symmetric RTP, RFC 4961), which is what lets NATed phones work, and hands
 * RFC 4733 telephone-events to the DTMF decoder instead of mediasoup. The phone's audio
 * also goes straight into the meeting's mixer (`hear`), and the mixer's leg sends the
 * phone its mix from this same socket (`sendToPhone`). Towards the phone, RTP relayed from
 * mediasoup becomes one continuous stream in the phone's payload type.
 * It lives in the media thread that owns the phone's meeting.
 */
import { type Socket, createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { withAudioLevelExtension } from './audio-level.js';
import type { ContinuousRtpStream } from './continuous-rtp-stream.js';
import { isRtcp, readRtp, type RtpPacketView } from './rtp-packet.js';

export interface RtpAddress {
  readonly ip: string;
  readonly port: number;
}

export interface PhoneRtpPortOptions {
  /** Where to bind the phone-facing socket, and the range its port comes from. */
  readonly listenIp: string;
  readonly minPort: number;
  readonly maxPort: number;
  /** The SSRC the mediasoup producer was created with. */
  readonly producerSsrc: number;
  /** Send where the phone's RTP comes from (RTP_COMEDIA), rather than only to its SDP address. */
  readonly latch: boolean;
  /** Where to write when the phone last sent (epoch ms), at index 0. */
  readonly lastReceived?: Float64Array;
}

/** Measures a phone packet's payload for the RFC 6464 header extension with this id. */
export interface LevelMeter {
  readonly extensionId: number;
  level(payload: Buffer): number;
}

export class PhoneRtpPort {
  /** Called with every RTP packet of this payload type; such packets do not reach mediasoup. */
  private tapped: { payloadType: number; listener: (packet: RtpPacketView) => void } | undefined;
  private meter: LevelMeter | undefined;
  /** Where the phone's audio goes besides mediasoup: the mixer input, while its audio may be heard. */
  private listener: ((packet: Buffer) => void) | undefined;
  /** When the phone last sent RTP or RTCP (epoch ms), for whoever watches for a dead call. */
  private readonly lastReceived: Float64Array;
  private outbound: ContinuousRtpStream | undefined;
  /** Where the phone's SDP says it receives; undefined for 0.0.0.0. */
  private announced: RtpAddress | undefined;
  /** Where the phone's packets come from, when latching. */
  private latched: RtpAddress | undefined;
  private sending = true;
  /** Whether the loopback socket is connected to the PlainTransport (a connected socket sends cheaper). */
  private toMediasoup = false;
  private closed = false;

  private constructor(
    private readonly phoneSocket: Socket,
    private readonly loopSocket: Socket,
    private readonly producerSsrc: number,
    private readonly latch: boolean,
    lastReceived: Float64Array | undefined,
  ) {
    this.lastReceived = lastReceived ?? new Float64Array(1);
    phoneSocket.on('message', (packet, from) => this.fromPhone(packet, { ip: from.address, port: from.port }));
    loopSocket.on('message', (packet) => this.fromMediasoup(packet));
    // A send to a vanished phone (ICMP unreachable) must not end the call.
    phoneSocket.on('error', () => undefined);
    loopSocket.on('error', () => undefined);
  }

  static async open(options: PhoneRtpPortOptions): Promise<PhoneRtpPort> {
    const phoneSocket = await bindInRange(options.listenIp, options.minPort, options.maxPort);
    const loopSocket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      loopSocket.once('error', reject);
      loopSocket.bind(0, '127.0.0.1', () => resolve());
    });
    return new PhoneRtpPort(phoneSocket, loopSocket, options.producerSsrc, options.latch, options.lastReceived);
  }

  /** The port phones send to (announced in SDP). */
  get port(): number {
    return this.phoneSocket.address().port;
  }

  /** Where the PlainTransport must send (its connect() target). */
  get loopbackAddress(): RtpAddress {
    const { address, port } = this.loopSocket.address();
    return { ip: address, port };
  }

  /** Where media goes now: the latched source, else the SDP address; undefined for nowhere. */
  get phoneAddress(): RtpAddress | undefined {
    return (this.latch && this.latched) || this.announced;
  }

  /** The PlainTransport's own address, where phone RTP is relayed to. */
  async connectToMediasoup(address: RtpAddress): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.loopSocket.once('error', reject);
      this.loopSocket.connect(address.port, address.ip, () => {
        this.loopSocket.off('error', reject);
        resolve();
      });
    });
    this.toMediasoup = true;
  }

  /** The address in the phone's SDP (undefined for 0.0.0.0), and whether it wants our media. */
  setRemote(announced: RtpAddress | undefined, sending: boolean): void {
    this.announced = announced;
    this.sending = sending;
  }

  /** Rewrites what goes to the phone into one stream in its payload type. */
  sendAs(stream: ContinuousRtpStream): void {
    this.outbound = stream;
  }

  measureLevels(meter: LevelMeter): void {
    this.meter = meter;
  }

  /** The phone's audio packets (SSRC and level stamped) go to `listener` too; undefined stops it. */
  hear(listener: ((packet: Buffer) => void) | undefined): void {
    this.listener = listener;
  }

  /** A packet of ours (the meeting's mix) to the phone, unless it does not want media now. */
  sendToPhone(packet: Buffer): void {
    const phone = this.phoneAddress;
    if (this.closed || !this.sending || !phone || phone.port === 0) return;
    this.phoneSocket.send(packet, phone.port, phone.ip);
  }

  tap(payloadType: number, listener: (packet: RtpPacketView) => void): void {
    this.tapped = { payloadType, listener };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.phoneSocket.close();
    this.loopSocket.close();
  }

  private fromPhone(packet: Buffer, from: RtpAddress): void {
    if (this.closed || packet.length < 12) return;
    if (this.latch) this.latched = from;
    this.lastReceived[0] = Date.now();
    if (isRtcp(packet)) return; // mediasoup reports on the phone's stream itself; phone RTCP is not needed.
    const payloadType = packet[1]! & 0x7f;
    if (this.tapped && payloadType === this.tapped.payloadType) {
      const view = readRtp(packet);
      if (view) this.tapped.listener(view);
      return;
    }
    if (!this.toMediasoup) return;
    packet.writeUInt32BE(this.producerSsrc, 8);
    let relayed = packet;
    if (this.meter) {
      const view = readRtp(packet);
      if (view) relayed = withAudioLevelExtension(packet, this.meter.extensionId, this.meter.level(view.payload));
    }
    this.listener?.(relayed);
    this.loopSocket.send(relayed);
  }

  private fromMediasoup(packet: Buffer): void {
    // mediasoup's RTCP describes its consumers' SSRCs, not the stream the phone gets.
    if (isRtcp(packet) || packet.length < 12) return;
    this.outbound?.rewrite(packet);
    this.sendToPhone(packet);
  }
}

/** A UDP socket on a free port of the range, trying random ports as mediasoup does. */
async function bindInRange(ip: string, minPort: number, maxPort: number): Promise<Socket> {
  const span = maxPort - minPort + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < Math.min(span, 64); i++) {
    const port = minPort + ((start + i * 7919) % span);
    const socket = createSocket(isIPv6(ip) ? 'udp6' : 'udp4');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, ip, () => resolve(true));
    });
    if (bound) return socket;
    socket.close();
  }
  throw new Error(`no free UDP port in ${minPort}-${maxPort} on ${ip}`);
}
