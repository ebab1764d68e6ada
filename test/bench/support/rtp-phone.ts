/**
 * The media side of a benchmark phone (or of a browser's RTP, for a PlainTransport): a
 * UDP socket that sends RTP packets when told and records what arrives. Every send and
 * arrival is stamped with performance.now().
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
}

export interface ReceivedPacket {
  readonly at: number;
  readonly payload: Buffer;
  /** The payload decoded, for PCMU (payload type 0); empty for any other. */
  readonly samples: Int16Array;
}

export interface RtpStreamShape {
  readonly payloadType: number;
  /** RTP clock ticks per 20 ms packet: 160 for PCMU, 960 for opus. */
  readonly timestampStep: number;
}

const PCMU_STREAM: RtpStreamShape = { payloadType: 0, timestampStep: 160 };
const NO_SAMPLES = new Int16Array(0);

export class RtpPhone {
  readonly received: ReceivedPacket[] = [];
  private sequenceNumber = Math.floor(Math.random() * 0x8000);
  private timestamp = Math.floor(Math.random() * 2 ** 31);
  readonly ssrc = Math.floor(Math.random() * 2 ** 31) + 1;
  private target: HostPort | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly shape: RtpStreamShape,
  ) {
    socket.on('message', (data) => {
      const at = performance.now();
      const view = readRtp(data);
      if (!view) return;
      const payload = Buffer.from(view.payload);
      this.received.push({ at, payload, samples: view.payloadType === 0 ? g711Decode('PCMU', payload) : NO_SAMPLES });
    });
  }

  static async open(shape: RtpStreamShape = PCMU_STREAM): Promise<RtpPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpPhone(socket, shape);
  }

  get port(): number {
    return this.socket.address().port;
  }

  sendTo(target: HostPort): void {
    this.target = target;
  }

  /** Sends one 20 ms packet now. */
  send(payload: Uint8Array): SentPacket {
    const { sequenceNumber, timestamp, ssrc } = this;
    const packet = writeRtp({ payloadType: this.shape.payloadType, sequenceNumber, timestamp, ssrc }, payload);
    this.sequenceNumber = (sequenceNumber + 1) & 0xffff;
    this.timestamp = (timestamp + this.shape.timestampStep) >>> 0;
    const at = performance.now();
    this.socket.send(packet, this.target!.port, this.target!.host);
    return { sequenceNumber, timestamp, at };
  }

  /** Skips `packets` sequence numbers and timestamps, as a sender that restarts its stream. */
  jump(packets: number): void {
    this.sequenceNumber = (this.sequenceNumber + packets) & 0xffff;
    this.timestamp = (this.timestamp + packets * this.shape.timestampStep) >>> 0;
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
