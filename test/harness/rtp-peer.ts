/**
 * The media end of the harness's test peer: sends a G.711 tone to baresip over RTP and
 * keeps every RTP packet baresip sends back.
 */
import { createSocket, type Socket } from 'node:dgram';
import { g711Decode, g711Encode, type G711Law } from '../../src/media/codecs/g711.js';
import { sineTone } from '../support/audio/tone.js';
import { rtpPacket } from '../support/rtp.js';

export interface RtpPacket {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly payload: Buffer;
}

/** An RFC 4733 telephone-event: 0-9 digits, 10 '*', 11 '#', 12-15 A-D. */
export interface TelephoneEvent {
  readonly event: number;
  readonly timestamp: number;
}

const SAMPLE_RATE = 8_000;
const FRAME_SAMPLES = 160; // 20 ms

export class RtpPeer {
  readonly received: RtpPacket[] = [];
  private sender: NodeJS.Timeout | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data) => {
      const packet = parseRtp(data);
      if (packet) this.received.push(packet);
    });
  }

  static async open(): Promise<RtpPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends a tone every 20 ms until close(): one second of it, G.711-encoded once and looped. */
  sendTone({ address, port, law, payloadType, hz }: { address: string; port: number; law: G711Law; payloadType: number; hz: number }): void {
    const second = g711Encode(law, sineTone({ hz, sampleRate: SAMPLE_RATE, seconds: 1, amplitude: 0.3 }));
    const ssrc = (Math.random() * 2 ** 32) >>> 0;
    let frame = 0;
    this.sender = setInterval(() => {
      const offset = (frame * FRAME_SAMPLES) % second.length;
      const payload = second.subarray(offset, offset + FRAME_SAMPLES);
      this.socket.send(rtpPacket({ payloadType, sequenceNumber: frame, timestamp: frame * FRAME_SAMPLES, ssrc, marker: frame === 0 }, payload), port, address);
      frame++;
    }, 20);
  }

  /** The G.711 audio received with that payload type, decoded, in arrival order. */
  receivedAudio(law: G711Law, payloadType: number): Int16Array {
    const payloads = this.received.filter((p) => p.payloadType === payloadType).map((p) => p.payload);
    return g711Decode(law, Buffer.concat(payloads));
  }

  /** Distinct telephone-events (RFC 4733 repeats each packet of an event, ends three times). */
  receivedEvents(payloadType: number): TelephoneEvent[] {
    const events: TelephoneEvent[] = [];
    for (const { payloadType: pt, timestamp, payload } of this.received) {
      if (pt !== payloadType || payload.length < 4) continue;
      if (events.at(-1)?.timestamp !== timestamp) events.push({ event: payload[0]!, timestamp });
    }
    return events;
  }

  close(): Promise<void> {
    clearInterval(this.sender);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

function parseRtp(data: Buffer): RtpPacket | undefined {
  if (data.length < 12 || data[0]! >> 6 !== 2) return undefined;
  const csrcCount = data[0]! & 0x0f;
  let start = 12 + csrcCount * 4;
  if (data[0]! & 0x10) start += 4 + data.readUInt16BE(start + 2) * 4; // header extension
  const padding = data[0]! & 0x20 ? data[data.length - 1]! : 0;
  if (start > data.length - padding) return undefined;
  return {
    payloadType: data[1]! & 0x7f,
    sequenceNumber: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    payload: data.subarray(start, data.length - padding),
  };
}
