/**
 * One talker as the mixer hears it: the RTP of one room producer, through a jitter
 * buffer, decoded once into 20 ms frames at every rate the meeting's legs need. Its
 * loudness (from the RFC 6464 level each packet carries, or measured on the decoded
 * audio when packets carry none) decides whether it is decoded at all: a talker the
 * mixer passes over is not decoded, and its decoder starts afresh when picked again.
 */
import { audioLevel, readAudioLevel } from '../audio-level.js';
import { type AudioCodecName, type FrameDecoder, type MixRate, createDecoder } from '../codecs/frame-codecs.js';
import { readRtp, type RtpPacketView } from '../rtp-packet.js';
import { JitterBuffer, type JitterPacket, type Playout } from './jitter-buffer.js';
import { Downsampler, Upsampler } from './resampler.js';

export interface TalkerSource {
  /** The mediasoup producer's id. */
  readonly id: string;
  /** The room member it belongs to. */
  readonly ownerId: string;
  readonly codec: AudioCodecName;
  readonly clockRate: number;
  /** The RFC 6464 header extension's id in this stream, when it carries one. */
  readonly levelExtensionId: number | undefined;
}

export const FRAMES_PER_SECOND = 50;
/** RFC 6464 silence; loudness is 127 minus the level, so 0 is silence. */
const SILENT_LEVEL = 127;
/** How fast loudness falls when a talker gets quieter, per tick, so pauses between words do not drop them. */
const LOUDNESS_DECAY_PER_TICK = 1;
/** Concealment repeats the last frame at half the level each time. */
const CONCEALMENT_GAIN = 0.5;
/** Decoded audio held between packets and ticks: enough for a 120 ms opus packet at 16 kHz. */
const QUEUE_SAMPLES = 16_000 / 4;

export class MixerInput {
  /** 0 (silence) to 127 (full scale), following increases at once and decreases slowly. */
  loudness = 0;
  private readonly jitter: JitterBuffer;
  private decoder: FrameDecoder;
  private decodedLastTick = false;
  /** This tick's playout, taken by advance() before the talkers are ranked. */
  private due: Playout | undefined;
  /** Whether the last packet came without a level (a sender that never writes one, or stopped). */
  private unleveled: boolean;
  private readonly queue = new Int16Array(QUEUE_SAMPLES);
  private queued = 0;
  private lastDecoded: Int16Array | undefined;
  private concealment = 1;
  private native: Int16Array;
  private converters: { down?: Downsampler; up?: Upsampler } = {};
  private readonly frames = new Map<MixRate, Int16Array>();

  constructor(
    readonly source: TalkerSource,
    private rates: ReadonlySet<MixRate>,
  ) {
    this.jitter = new JitterBuffer({ clockRate: source.clockRate });
    this.unleveled = source.levelExtensionId === undefined;
    this.decoder = createDecoder(source.codec, widest(rates));
    this.native = new Int16Array(this.decoder.sampleRate / FRAMES_PER_SECOND);
    this.allocateFrames();
  }

  get id(): string {
    return this.source.id;
  }

  /** What its jitter buffer dropped as too late and concealed as missing, since it was made. */
  get jitterCounts(): { readonly late: number; readonly concealed: number } {
    return { late: this.jitter.latePackets, concealed: this.jitter.concealedFrames };
  }

  /** Without levels in its packets, the input must be decoded every tick to know how loud it is. */
  get measuresOwnLevel(): boolean {
    return this.unleveled;
  }

  /** A packet of the talker's, as it came. */
  receive(packet: Buffer, arrivalMs: number): void {
    const rtp = readRtp(packet);
    if (rtp) this.receiveRead(packet, rtp, arrivalMs, undefined);
  }

  /** A packet already read (`rtp`), with its level when the receiver measured it rather than writing it into the packet. */
  receiveRead(packet: Buffer, rtp: RtpPacketView, arrivalMs: number, measuredLevel: number | undefined): void {
    const { payload } = rtp;
    if (payload.length === 0) return;
    const { levelExtensionId } = this.source;
    const level = measuredLevel ?? (levelExtensionId === undefined ? undefined : readAudioLevel(packet, levelExtensionId));
    this.unleveled = level === undefined;
    this.jitter.push({ ssrc: rtp.ssrc, sequenceNumber: rtp.sequenceNumber, timestamp: rtp.timestamp, payload, level }, arrivalMs);
  }

  /** The meeting's legs now want these rates. */
  setRates(rates: ReadonlySet<MixRate>): void {
    this.rates = rates;
    const decoder = createDecoder(this.source.codec, widest(rates));
    if (decoder.sampleRate !== this.decoder.sampleRate) {
      this.decoder = decoder;
      this.native = new Int16Array(decoder.sampleRate / FRAMES_PER_SECOND);
      this.decodedLastTick = false;
    }
    this.allocateFrames();
  }

  /** This tick's frame at a rate set with setRates, valid after render() returned true. */
  frame(rate: MixRate): Int16Array {
    return this.frames.get(rate)!;
  }

  /**
   * Takes this tick's packet from the jitter buffer and reads its level, so a talker who
   * starts after a silence is ranked, and heard, from its very first packet.
   */
  advance(): void {
    const due = this.queued < this.native.length ? this.jitter.pop() : undefined;
    this.due = due;
    if (due?.kind === 'packet' && due.packet.level !== undefined) this.fade(due.packet.level);
    else if (due?.kind === 'idle') this.fade(SILENT_LEVEL);
  }

  /** Decodes this tick's 20 ms; false when the talker has nothing to play. */
  render(): boolean {
    if (!this.decodedLastTick) this.startAfresh();
    this.decodedLastTick = true;
    const frameLength = this.native.length;
    while (this.queued < frameLength) {
      const playout = this.due ?? this.jitter.pop();
      this.due = undefined;
      if (playout.kind === 'idle') break;
      this.play(playout);
    }
    if (this.queued === 0) return false;
    const taken = Math.min(frameLength, this.queued);
    this.native.set(this.queue.subarray(0, taken));
    this.native.fill(0, taken);
    this.queue.copyWithin(0, taken, this.queued);
    this.queued -= taken;
    if (this.measuresOwnLevel) this.fade(audioLevel(this.native));
    this.convert();
    return true;
  }

  /** Not mixed this tick: the packet due is dropped undecoded. */
  pass(): void {
    this.decodedLastTick = false;
    this.due = undefined;
  }

  private play(playout: Exclude<Playout, { kind: 'idle' }>): void {
    if (playout.kind === 'packet') {
      this.decodeUnplayed(playout.shed);
      let decoded: Int16Array;
      try {
        decoded = this.decoder.decode(playout.packet.payload);
      } catch {
        // A corrupt payload is concealed like a lost one.
        return this.conceal();
      }
      this.lastDecoded = decoded;
      this.concealment = 1;
      this.enqueue(decoded);
    } else {
      this.conceal();
    }
  }

  /** Packets dropped to shed delay: decoded so the decoder's state follows the stream, not played. */
  private decodeUnplayed(packets: readonly JitterPacket[]): void {
    for (const { payload } of packets) {
      try {
        this.decoder.decode(payload);
      } catch {
        // A corrupt one is skipped like any shed packet.
      }
    }
  }

  private conceal(): void {
    const last = this.lastDecoded;
    const length = last?.length ?? this.native.length;
    if (this.queued + length > this.queue.length) return;
    this.concealment *= CONCEALMENT_GAIN;
    const gain = this.concealment;
    for (let i = 0; i < length; i++) this.queue[this.queued + i] = last ? Math.round(last[i]! * gain) : 0;
    this.queued += length;
  }

  private enqueue(samples: Int16Array): void {
    const room = this.queue.length - this.queued;
    const length = Math.min(room, samples.length);
    this.queue.set(samples.subarray(0, length), this.queued);
    this.queued += length;
  }

  /** Loudness rises at once to a louder level and falls slowly from it. */
  private fade(level: number): void {
    this.loudness = Math.max(SILENT_LEVEL - level, this.loudness - LOUDNESS_DECAY_PER_TICK);
  }

  private startAfresh(): void {
    this.decoder.reset();
    this.queued = 0;
    this.lastDecoded = undefined;
    this.concealment = 1;
    this.allocateFrames();
  }

  private allocateFrames(): void {
    const native = this.decoder.sampleRate;
    this.frames.clear();
    this.converters = {};
    for (const rate of this.rates) {
      if (rate === native) this.frames.set(rate, this.native);
      else this.frames.set(rate, new Int16Array(rate / FRAMES_PER_SECOND));
      if (rate < native) this.converters.down = new Downsampler();
      if (rate > native) this.converters.up = new Upsampler();
    }
  }

  private convert(): void {
    const { down, up } = this.converters;
    if (down) down.process(this.native, this.frames.get(8000));
    if (up) up.process(this.native, this.frames.get(16000));
  }
}

function widest(rates: ReadonlySet<MixRate>): MixRate {
  return rates.has(16000) ? 16000 : 8000;
}
