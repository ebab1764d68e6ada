/**
 * The media side of the benchmark's callers, kept cheap because they share the machine
 * with the gateway: one connected UDP socket per call, packets built once and only their
 * header rewritten in place, and ONE clock for every sender. Each endpoint also checks
 * the stream it receives (one SSRC, consecutive sequence numbers, timestamps advancing
 * one frame per packet, the expected payload type and size) and counts losses per
 * measurement window; PCMU listeners decode one frame a second and look for the three
 * talkers' tones in it.
 */
import { type Socket, createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { Encoder } from '@evan/opus';
import { g711Decode } from '../../../src/media/codecs/g711.js';
import { isRtcp } from '../../../src/media/rtp-packet.js';

export const FRAME_MS = 20;
const FRAMES_PER_SECOND = 1000 / FRAME_MS;

/** The talkers' tones: three per meeting, each at TALKER_AMPLITUDE, so the mix never clips. */
export const TALKER_TONES_HZ = [400, 700, 1100] as const;
export const TALKER_AMPLITUDE = 6000;
/** A tone counts as heard when its amplitude in a frame is at least this share of what was sent. */
const HEARD_SHARE = 0.3;

/** What a window of received packets looked like, summed over endpoints. */
export interface ReceiveWindow {
  expected: number;
  lost: number;
  /** Endpoints that got (almost) nothing in the window. */
  starved: number;
  duplicatesOrLate: number;
  malformed: number;
  ssrcChanges: number;
  timestampJumps: number;
  toneChecks: number;
  /** Checked frames in which all three talkers' tones were present. */
  toneChecksHeardAll: number;
}

export const emptyWindow = (): ReceiveWindow => ({
  expected: 0,
  lost: 0,
  starved: 0,
  duplicatesOrLate: 0,
  malformed: 0,
  ssrcChanges: 0,
  timestampJumps: 0,
  toneChecks: 0,
  toneChecksHeardAll: 0,
});

/** One call's RTP: sends one 20 ms frame per clock tick, receives and checks what comes back. */
export abstract class RtpEndpoint {
  protected readonly ssrc = randomInt(1, 2 ** 32 - 1);
  protected sequenceNumber = randomInt(0, 0x10000);
  protected timestamp = randomInt(0, 2 ** 32);
  private connected = false;
  private closed = false;

  // Receive side, cumulative.
  private received = 0;
  private highest = -1; // extended sequence number of the newest packet
  private firstExtended = -1;
  private lastSequence = 0;
  private lastTimestamp = 0;
  private remoteSsrc: number | undefined;
  private counters = { duplicatesOrLate: 0, malformed: 0, ssrcChanges: 0, timestampJumps: 0, toneChecks: 0, toneChecksHeardAll: 0 };
  private base = { received: 0, highest: -1, ...this.counters };

  protected constructor(
    protected readonly socket: Socket,
    /** The payload type and RTP clock of what we receive. */
    private readonly receivePayloadType: number,
    private readonly receiveTimestampStep: number,
    /** Exact payload size expected back (PCMU: 160), or undefined for variable (opus). */
    private readonly receivePayloadSize: number | undefined,
  ) {
    socket.on('message', (packet) => this.receive(packet));
    socket.on('error', () => undefined);
  }

  protected static async bind(): Promise<Socket> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return socket;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** From now on, frames go to the gateway's port for this call (and only its packets are received). */
  async connect(ip: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.connect(port, ip, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.connected = true;
  }

  /** Called by the clock every 20 ms. */
  sendFrame(): void {
    if (!this.connected || this.closed) return;
    this.socket.send(this.nextPacket());
  }

  protected abstract nextPacket(): Buffer;

  /** The SDP offer for this endpoint's port and codec. */
  abstract offer(): string;

  /** Checks a frame's content (PCMU listeners); true when it holds what it should. */
  protected checkContent(_payload: Buffer): boolean | undefined {
    return undefined;
  }

  /** Packets received in order so far (the whole call). */
  get packetsReceived(): number {
    return this.received;
  }

  /** Starts a measurement window. */
  mark(): void {
    this.base = { received: this.received, highest: this.highest, ...this.counters };
  }

  /** Adds what this endpoint received since mark() to `into`. */
  measure(windowMs: number, into: ReceiveWindow): void {
    const byTime = Math.round(windowMs / FRAME_MS);
    const received = this.received - this.base.received;
    let expected: number;
    if (received === 0) expected = byTime;
    else expected = this.highest - (this.base.highest >= 0 ? this.base.highest : this.firstExtended - 1);
    let lost = Math.max(0, expected - received);
    // A stream that runs much slower than 50 packets/s lost time even with no sequence gap.
    if (received < byTime * 0.9) {
      into.starved++;
      expected = Math.max(expected, byTime);
      lost = Math.max(lost, byTime - received);
    }
    into.expected += expected;
    into.lost += lost;
    for (const key of ['duplicatesOrLate', 'malformed', 'ssrcChanges', 'timestampJumps', 'toneChecks', 'toneChecksHeardAll'] as const) {
      into[key] += this.counters[key] - this.base[key];
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private receive(packet: Buffer): void {
    // The gateway's RTCP reports share the port (rtcp-mux); they are not part of the stream.
    if (isRtcp(packet)) return;
    if (packet.length < 12 || packet[0]! >> 6 !== 2 || (packet[1]! & 0x7f) !== this.receivePayloadType) {
      this.counters.malformed++;
      return;
    }
    const headerLength = 12 + 4 * (packet[0]! & 0x0f) + (packet[0]! & 0x10 ? 4 + 4 * packet.readUInt16BE(14 + 4 * (packet[0]! & 0x0f)) : 0);
    if (this.receivePayloadSize !== undefined && packet.length - headerLength !== this.receivePayloadSize) {
      this.counters.malformed++;
      return;
    }
    const sequenceNumber = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    const ssrc = packet.readUInt32BE(8);
    if (this.remoteSsrc === undefined) {
      this.remoteSsrc = ssrc;
      this.received++;
      this.highest = this.firstExtended = sequenceNumber;
      this.lastSequence = sequenceNumber;
      this.lastTimestamp = timestamp;
      return;
    }
    if (ssrc !== this.remoteSsrc) {
      this.counters.ssrcChanges++;
      this.remoteSsrc = ssrc;
    }
    const delta = (sequenceNumber - this.lastSequence) & 0xffff;
    if (delta === 0 || delta >= 0x8000) {
      this.counters.duplicatesOrLate++;
      return;
    }
    if (((timestamp - this.lastTimestamp) >>> 0) !== delta * this.receiveTimestampStep) this.counters.timestampJumps++;
    this.received++;
    this.highest += delta;
    this.lastSequence = sequenceNumber;
    this.lastTimestamp = timestamp;
    if (this.received % FRAMES_PER_SECOND === 0) {
      const ok = this.checkContent(packet.subarray(headerLength));
      if (ok !== undefined) {
        this.counters.toneChecks++;
        if (ok) this.counters.toneChecksHeardAll++;
      }
    }
  }
}

/** A PCMU phone leg: sends silence, hears the meeting's mix and checks it holds the talkers' tones. */
export class PcmuPhone extends RtpEndpoint {
  private readonly packet = Buffer.alloc(12 + 160, 0xff); // 0xFF is PCMU's zero

  private constructor(
    socket: Socket,
    private readonly tones: readonly number[],
  ) {
    super(socket, 0, 160, 160);
    this.packet[0] = 0x80;
    this.packet[1] = 0;
    this.packet.writeUInt32BE(this.ssrc, 8);
  }

  /** A phone in a meeting whose talkers send these tones. */
  static async open(tones: readonly number[] = TALKER_TONES_HZ): Promise<PcmuPhone> {
    return new PcmuPhone(await RtpEndpoint.bind(), tones);
  }

  offer(): string {
    return sdpOffer(this.port, 0, 'PCMU/8000');
  }

  protected nextPacket(): Buffer {
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.timestamp = (this.timestamp + 160) >>> 0;
    this.packet.writeUInt16BE(this.sequenceNumber, 2);
    this.packet.writeUInt32BE(this.timestamp, 4);
    return this.packet;
  }

  protected override checkContent(payload: Buffer): boolean {
    const samples = g711Decode('PCMU', payload);
    const ok = this.tones.every((hz) => toneAmplitude(samples, 8000, hz) >= TALKER_AMPLITUDE * HEARD_SHARE);
    if (!ok && process.env.BENCH_DEBUG_TONES) process.stderr.write(`TONEDEBUG ${performance.now().toFixed(0)} port ${this.port} ${this.tones.map((hz) => toneAmplitude(samples, 8000, hz).toFixed(0)).join(' ')}\n`);
    return ok;
  }
}

/** An opus talker: loops a pre-encoded tone, and counts (without decoding) the mix it gets back. */
export class OpusTalker extends RtpEndpoint {
  private frame = 0;
  private readonly scratch: Buffer;

  private constructor(
    socket: Socket,
    private readonly frames: readonly Buffer[],
  ) {
    super(socket, OPUS_PAYLOAD_TYPE, 960, undefined);
    this.scratch = Buffer.alloc(12 + Math.max(...frames.map((f) => f.length)));
    this.scratch[0] = 0x80;
    this.scratch[1] = OPUS_PAYLOAD_TYPE;
    this.scratch.writeUInt32BE(this.ssrc, 8);
    this.frame = randomInt(0, frames.length);
  }

  static async open(frames: readonly Buffer[]): Promise<OpusTalker> {
    return new OpusTalker(await RtpEndpoint.bind(), frames);
  }

  offer(): string {
    return sdpOffer(this.port, OPUS_PAYLOAD_TYPE, 'opus/48000/2');
  }

  protected nextPacket(): Buffer {
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.timestamp = (this.timestamp + 960) >>> 0;
    this.scratch.writeUInt16BE(this.sequenceNumber, 2);
    this.scratch.writeUInt32BE(this.timestamp, 4);
    const payload = this.frames[this.frame]!;
    this.frame = (this.frame + 1) % this.frames.length;
    payload.copy(this.scratch, 12);
    return this.scratch.subarray(0, 12 + payload.length);
  }
}

const OPUS_PAYLOAD_TYPE = 111;

function sdpOffer(port: number, payloadType: number, rtpmap: string): string {
  return [
    'v=0',
    `o=bench ${randomInt(1, 2 ** 31)} 1 IN IP4 127.0.0.1`,
    's=bench',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP ${payloadType}`,
    `a=rtpmap:${payloadType} ${rtpmap}`,
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/**
 * `seconds` of a steady tone as 20 ms opus frames (16 kHz mono, voip), encoded once and
 * looped by every talker with that tone. The encoder warms up first (its first frames
 * fade in), so the loop has no dip where it starts over: whole seconds of a whole-Hz
 * tone end where they began.
 */
export function encodeOpusTone(hz: number, amplitude = TALKER_AMPLITUDE, seconds = 3): Buffer[] {
  const encoder = new Encoder({ sample_rate: 16000, channels: 1, application: 'voip' });
  const frameSamples = 16000 / FRAMES_PER_SECOND;
  const warmUp = FRAMES_PER_SECOND;
  const frames: Buffer[] = [];
  const pcm = new Int16Array(frameSamples);
  for (let f = 0; f < warmUp + seconds * FRAMES_PER_SECOND; f++) {
    for (let i = 0; i < frameSamples; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (f * frameSamples + i)) / 16000));
    const encoded = Buffer.from(encoder.encode(pcm));
    if (f >= warmUp) frames.push(encoded);
  }
  return frames;
}

/** A tone's amplitude in a frame (Goertzel); exact for tones with whole cycles in the frame. */
export function toneAmplitude(samples: Int16Array, sampleRate: number, hz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / samples.length;
}

/**
 * The one clock every sender runs on, scheduled against absolute time so it does not
 * drift. Real phones are not in step with each other, so senders are spread over
 * `phases` slots of the 20 ms frame (the clock wakes every 20/phases ms and sends for
 * one slot); phases = 1 sends everything in one burst, the worst case for the gateway.
 * A late wake-up sends the frames owed (up to 5 frames' worth), as a phone's clock
 * would have. Its own lateness is kept, to tell a busy client from a slow gateway.
 */
export class SendClock {
  private readonly slots: Set<RtpEndpoint>[];
  private readonly slotOf = new Map<RtpEndpoint, Set<RtpEndpoint>>();
  private readonly periodMs: number;
  private started = 0;
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private lateness: number[] = [];
  skipped = 0;

  constructor(private readonly phases = 4) {
    this.slots = Array.from({ length: phases }, () => new Set<RtpEndpoint>());
    this.periodMs = FRAME_MS / phases;
  }

  /** Adds a sender to the slot with the fewest. */
  add(endpoint: RtpEndpoint): void {
    const slot = this.slots.reduce((a, b) => (b.size < a.size ? b : a));
    slot.add(endpoint);
    this.slotOf.set(endpoint, slot);
  }

  remove(endpoint: RtpEndpoint): void {
    this.slotOf.get(endpoint)?.delete(endpoint);
    this.slotOf.delete(endpoint);
  }

  start(): void {
    this.started = performance.now();
    this.ticks = 0;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The p99 and max of this clock's lateness since the last call, in ms. */
  takeLateness(): { p99: number; max: number } {
    const sorted = this.lateness.sort((a, b) => a - b);
    this.lateness = [];
    if (sorted.length === 0) return { p99: 0, max: 0 };
    return { p99: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!, max: sorted.at(-1)! };
  }

  private schedule(): void {
    const due = this.started + (this.ticks + 1) * this.periodMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - performance.now()));
  }

  private fire(): void {
    const now = performance.now();
    let owed = Math.floor((now - this.started) / this.periodMs) - this.ticks;
    const limit = 5 * this.phases;
    if (owed > limit) {
      this.skipped += owed - 1;
      this.ticks += owed - 1;
      owed = 1;
    }
    for (let i = 0; i < owed; i++) {
      this.ticks++;
      this.lateness.push(now - (this.started + this.ticks * this.periodMs));
      for (const endpoint of this.slots[this.ticks % this.phases]!) endpoint.sendFrame();
    }
    this.schedule();
  }
}
