/**
 * A phone reduced to its RTP: it sends a tone (or silence) every 20 ms in one codec to
 * the gateway's port and keeps every packet it gets back, decoded with the gateway's
 * own codecs. For tests and benchmarks that need many phones without a SIP client.
 * With an SRTP session (`secure`) it protects what it sends and unprotects what it gets,
 * keeping only what authenticates.
 */
import { type Socket, createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { type AudioCodecName, createDecoder, createEncoder } from '../../../src/media/codecs/frame-codecs.js';
import { isRtcp, readRtp, writeRtp } from '../../../src/media/rtp-packet.js';
import type { SrtpSession } from '../../../src/media/srtp/srtp-session.js';

export interface RtpPhoneOptions {
  readonly codec: AudioCodecName;
  readonly payloadType: number;
  /** The tone it talks with, and its amplitude (of 32767); silence without a tone. */
  readonly toneHz?: number;
  readonly amplitude?: number;
}

export interface ReceivedPacket {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payloadType: number;
  readonly payload: Buffer;
  readonly atMs: number;
}

const CLOCK_RATE: Record<AudioCodecName, number> = { PCMU: 8000, PCMA: 8000, G722: 8000, opus: 48000 };

export class RtpPhone {
  readonly received: ReceivedPacket[] = [];
  /** The gateway's RTCP (rtcp-mux), with its arrival on the epoch clock RTCP uses. */
  readonly rtcpReceived: { readonly packet: Buffer; readonly atMs: number }[] = [];
  private readonly encoder;
  private timer: NodeJS.Timeout | undefined;
  private frameIndex = 0;
  private sequenceNumber = randomInt(0, 0x10000);
  readonly ssrc = randomInt(1, 2 ** 32 - 1);
  private srtp: SrtpSession | undefined;
  /** Flip a bit of every SRTP tag it sends, as a forger or a broken path would. */
  tamperWithTags = false;

  private constructor(
    readonly options: RtpPhoneOptions,
    private readonly socket: Socket,
  ) {
    this.encoder = createEncoder(options.codec);
    socket.on('message', (received) => {
      const packet = this.srtp ? (isRtcp(received) ? this.srtp.unprotectRtcp(received) : this.srtp.unprotectRtp(received)) : received;
      if (!packet) return;
      if (isRtcp(packet)) return void this.rtcpReceived.push({ packet, atMs: performance.timeOrigin + performance.now() });
      const view = readRtp(packet);
      if (view) this.received.push({ ...view, payload: Buffer.from(view.payload), atMs: performance.now() });
    });
  }

  static async open(options: RtpPhoneOptions): Promise<RtpPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new RtpPhone(options, socket);
  }

  /** The sequence number of the last packet it sent. */
  get lastSequenceNumber(): number {
    return this.sequenceNumber;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /**
   * Starts sending 20 ms packets to the gateway's port, 50 a second as a phone's sound
   * card keeps time: packets an event-loop stall held back go out at once when it ends.
   * (A setInterval loses the time of every stall, and under load the phone would talk
   * slower than real time, leaving the mixer nothing to play for some of its ticks.)
   */
  talk(port: number, ip = '127.0.0.1'): void {
    if (this.timer) return;
    const start = performance.now();
    let sent = 0;
    const sendDue = () => {
      for (const due = Math.floor((performance.now() - start) / 20); sent < due; sent++) this.socket.send(this.protect(this.nextPacket()), port, ip);
      this.timer = setTimeout(sendDue, start + (sent + 1) * 20 - performance.now());
    };
    this.timer = setTimeout(sendDue, 20);
  }

  /** Any packet of the test's own (RTCP, say) from the phone's socket. */
  send(packet: Buffer, port: number, ip = '127.0.0.1'): void {
    this.socket.send(packet, port, ip);
  }

  /** SRTP from now on, both ways. */
  secure(session: SrtpSession): void {
    this.srtp = session;
  }

  private protect(packet: Buffer): Buffer {
    const protectedPacket = this.srtp?.protectRtp(packet);
    if (!protectedPacket) return packet;
    if (this.tamperWithTags) protectedPacket[protectedPacket.length - 1]! ^= 1;
    return protectedPacket;
  }

  stopTalking(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The next 20 ms of the tone as an RTP packet. */
  nextPacket(): Buffer {
    const { toneHz = 0, amplitude = 8000, payloadType, codec } = this.options;
    const rate = this.encoder.sampleRate;
    const samples = new Int16Array(rate / 50);
    for (let i = 0; i < samples.length; i++) {
      const n = this.frameIndex * samples.length + i;
      samples[i] = toneHz ? Math.round(amplitude * Math.sin((2 * Math.PI * toneHz * n) / rate)) : 0;
    }
    const timestamp = (this.frameIndex * CLOCK_RATE[codec]) / 50;
    this.frameIndex++;
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    return writeRtp({ payloadType, sequenceNumber: this.sequenceNumber, timestamp, ssrc: this.ssrc }, this.encoder.encode(samples));
  }

  /** Everything received since `fromMs`, decoded in sequence order, and its sample rate. */
  heard(fromMs = 0): { samples: Int16Array; sampleRate: number } {
    const decoder = createDecoder(this.options.codec, 16000);
    const packets = this.received.filter((p) => p.atMs >= fromMs);
    // A decoder's frame is its own until its next decode: each is copied out.
    const frames = packets.map((p) => Int16Array.from(decoder.decode(p.payload)));
    const samples = new Int16Array(frames.reduce((sum, f) => sum + f.length, 0));
    let offset = 0;
    for (const frame of frames) {
      samples.set(frame, offset);
      offset += frame.length;
    }
    return { samples, sampleRate: decoder.sampleRate };
  }

  close(): void {
    this.stopTalking();
    this.socket.close();
  }
}
