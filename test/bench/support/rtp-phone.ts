/**
 * The media side of a benchmark phone: a UDP socket that sends PCMU RTP on a 20 ms grid
 * (scheduled against absolute times, so timer lateness does not accumulate) and records
 * what arrives. Every send and arrival is stamped with performance.now().
 */
import { type Socket, createSocket } from 'node:dgram';
import { g711Decode } from '../../../src/media/codecs/g711.js';
import { readRtp, writeRtp } from '../../../src/media/rtp-packet.js';
import type { HostPort } from './sip-dialer.js';

/** μ-law silence: every sample decodes to 0. */
export const PCMU_SILENCE = Buffer.alloc(160, 0xff);

export interface SentPacket {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly at: number;
  /** What the schedule put in it (silence, or which packet of a burst). */
  readonly tag: number | undefined;
}

export interface ReceivedPacket {
  readonly at: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly samples: Int16Array;
}

export class RtpPhone {
  readonly received: ReceivedPacket[] = [];
  readonly sent: SentPacket[] = [];
  private sequenceNumber = Math.floor(Math.random() * 0x8000);
  private timestamp = Math.floor(Math.random() * 2 ** 31);
  private readonly ssrc = Math.floor(Math.random() * 2 ** 31) + 1;
  private target: HostPort | undefined;
  onPacket: ((packet: ReceivedPacket) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data) => {
      const at = performance.now();
      const view = readRtp(data);
      if (!view || view.payloadType !== 0) return;
      const packet = { at, sequenceNumber: view.sequenceNumber, timestamp: view.timestamp, samples: g711Decode('PCMU', view.payload) };
      this.received.push(packet);
      this.onPacket?.(packet);
    });
  }

  static async open(): Promise<RtpPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpPhone(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  sendTo(target: HostPort): void {
    this.target = target;
  }

  /** Sends one 20 ms PCMU packet now. */
  send(payload: Buffer, tag?: number): SentPacket {
    const { sequenceNumber, timestamp, ssrc } = this;
    const packet = writeRtp({ payloadType: 0, sequenceNumber, timestamp, ssrc }, payload);
    this.sequenceNumber = (sequenceNumber + 1) & 0xffff;
    this.timestamp = (timestamp + 160) >>> 0;
    const at = performance.now();
    this.socket.send(packet, this.target!.port, this.target!.host);
    const sent = { sequenceNumber, timestamp, at, tag };
    this.sent.push(sent);
    return sent;
  }

  /** Skips `packets` sequence numbers and timestamps, as a sender that restarts its stream. */
  jump(packets: number): void {
    this.sequenceNumber = (this.sequenceNumber + packets) & 0xffff;
    this.timestamp = (this.timestamp + packets * 160) >>> 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Runs `next(i)` every 20 ms from now on (call i due at start + 20·i ms) until it returns false or stop(). */
export function every20ms(next: (i: number) => boolean): { done: Promise<void>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    let start = 0;
    let i = 0;
    const fire = () => {
      if (stopped || !next(i++)) return resolve();
      timer = setTimeout(fire, Math.max(0, start + i * 20 - performance.now()));
    };
    start = performance.now();
    fire();
  });
  return {
    done,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export function rms(samples: Int16Array): number {
  let energy = 0;
  for (const s of samples) energy += s * s;
  return Math.sqrt(energy / Math.max(1, samples.length));
}

export function zeroCrossings(samples: Int16Array): number {
  let count = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1]! < 0) !== (samples[i]! < 0)) count++;
  return count;
}
