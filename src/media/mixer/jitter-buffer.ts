/**
 * One mixer input's jitter buffer: packets go in as they arrive, one comes out per
 * playout request, in sequence order, held back by an adaptive delay of one to three
 * 20 ms packets (20–60 ms) that follows the measured arrival jitter (RFC 3550 §A.8):
 * it fills to that depth before playing, and deepens while playing by waiting for a
 * late packet rather than skipping it.
 * Duplicates and packets too late to play are dropped; a gap is reported as a loss so
 * the decoder can conceal it, but a missing packet with nothing after it yet is late,
 * and waited for; a packet dropped to shed delay still goes to the decoder, unplayed,
 * so its state follows the stream; a new SSRC, or a sequence or timestamp jump no
 * reordering explains (a talker who stopped and came back, a restarted sender), starts
 * over.
 */

export interface JitterPacket {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly payload: Buffer;
  /** RFC 6464 level (0 loudest … 127 silence), when the packet carried one. */
  readonly level?: number | undefined;
}

export type Playout =
  | {
      readonly kind: 'packet';
      readonly packet: JitterPacket;
      /**
       * Packets dropped just before this one to shed delay. Decode them without playing
       * them: a decoder (opus's SILK above all) that never sees a packet plays a steady
       * signal at the wrong level for seconds after.
       */
      readonly shed: readonly JitterPacket[];
    }
  /** A packet is missing here: conceal it. */
  | { readonly kind: 'lost' }
  /** Nothing to play (not started, or run dry): silence, and no concealment. */
  | { readonly kind: 'idle' };

export interface JitterBufferOptions {
  /** The RTP clock (48000 for opus, 8000 for G.711 and G.722). */
  readonly clockRate: number;
  readonly frameMs?: number;
  readonly minDepth?: number;
  readonly maxDepth?: number;
}

/** Beyond this many packets' distance a sequence number is a new stream, not reordering. */
const MAX_SEQUENCE_JUMP = 100;
/** Losses concealed in a row when the buffer runs dry, before it goes idle and refills. */
const MAX_CONCEALED_UNDERRUN = 3;
/**
 * Packets held beyond the deepest target before the oldest are dropped: a sender whose
 * clock runs fast, or a burst after a stall, must not build up delay for good.
 */
const MAX_EXCESS = 3;
/**
 * After a packet came too late to play, the delay stays at two packets at least for this
 * many pops (10 s): on a path with almost no jitter a packet arriving just after its tick
 * is otherwise lost every time the phase drifts there.
 */
const LATE_HOLD_POPS = 500;
/** How long (in packets) the buffer must hold more than it needs before it sheds one. */
const SHRINK_AFTER_POPS = 25;
/** Shed packets kept for the decoder: more than a burst's excess is a break in the stream anyway. */
const MAX_SHED = MAX_EXCESS + 2;

const sequenceDistance = (from: number, to: number) => ((to - from + 0x8000) & 0xffff) - 0x8000;

// A buffer pops 50 times a second per talker: the answers that carry nothing of their own are made once.
const IDLE: Playout = Object.freeze({ kind: 'idle' });
const LOST: Playout = Object.freeze({ kind: 'lost' });
const NOTHING_SHED: readonly JitterPacket[] = Object.freeze([]);

export class JitterBuffer {
  /** Packets that came too late to play (or again after being played), since the buffer was made. */
  latePackets = 0;
  /** Pops that asked for concealment of a missing packet, since the buffer was made. */
  concealedFrames = 0;
  /**
   * Held packets, in no order: a handful at most (see MAX_EXCESS), so a scan finds one as
   * fast as a Map would, without a Map's reallocation as it fills and empties.
   */
  private readonly packets: JitterPacket[] = [];
  private ssrc: number | undefined;
  /** The next sequence number to play; undefined while filling. */
  private next: number | undefined;
  private newest: JitterPacket | undefined;
  private concealedInARow = 0;
  /** Pops in a row that left more buffered than the target delay needs. */
  private surplusPops = 0;
  /** Pops left during which a recent late packet keeps the delay at two packets or more. */
  private lateHold = 0;
  /** RFC 3550 interarrival jitter, in RTP clock units. */
  private jitter = 0;
  private lastTransit: number | undefined;
  /** Packets dropped to shed delay since the last one played, oldest first. */
  private shed: JitterPacket[] = [];
  private readonly frameMs: number;
  private readonly minDepth: number;
  private readonly maxDepth: number;

  constructor(private readonly options: JitterBufferOptions) {
    this.frameMs = options.frameMs ?? 20;
    this.minDepth = options.minDepth ?? 1;
    this.maxDepth = options.maxDepth ?? 3;
  }

  /** Packets buffered right now. */
  get size(): number {
    return this.packets.length;
  }

  /** The playout delay the jitter calls for, in packets. */
  get targetDepth(): number {
    const jitterMs = (this.jitter / this.options.clockRate) * 1000;
    const least = this.lateHold > 0 ? Math.max(this.minDepth, 2) : this.minDepth;
    return Math.min(this.maxDepth, Math.max(least, Math.ceil((2 * jitterMs) / this.frameMs)));
  }

  /** The level of the newest packet, 127 (silence) when there is none. */
  get level(): number {
    return this.newest?.level ?? 127;
  }

  push(packet: JitterPacket, arrivalMs: number): void {
    if (this.startsNewStream(packet)) this.reset(packet.ssrc);
    this.measureJitter(packet, arrivalMs);
    if (this.next !== undefined && sequenceDistance(this.next, packet.sequenceNumber) < 0) {
      // Too late to play (or a duplicate of one played): deepen the delay for a while.
      this.lateHold = LATE_HOLD_POPS;
      this.latePackets++;
      return;
    }
    if (this.indexOf(packet.sequenceNumber) >= 0) return; // duplicate
    this.packets.push(packet);
    if (!this.newest || sequenceDistance(this.newest.sequenceNumber, packet.sequenceNumber) > 0) this.newest = packet;
    while (this.packets.length > this.maxDepth + MAX_EXCESS) this.dropOldest();
  }

  /** The next 20 ms of this input. */
  pop(): Playout {
    const playout = this.nextPlayout();
    if (playout === LOST) this.concealedFrames++;
    return playout;
  }

  private nextPlayout(): Playout {
    if (this.lateHold > 0) this.lateHold--;
    if (this.next === undefined) {
      if (this.packets.length < this.targetDepth) return IDLE;
      this.next = this.oldestSequence();
    }
    const due = this.indexOf(this.next);
    if (due >= 0) return this.play(due);
    if (this.packets.length === 0) {
      if (++this.concealedInARow > MAX_CONCEALED_UNDERRUN) {
        // Run dry (the talker paused, or DTX): refill before playing again.
        this.next = undefined;
        this.concealedInARow = 0;
        return IDLE;
      }
      // Nothing after the due packet has come either: it is late (a tick run late or
      // caught up after an event-loop stall, a sender that paused), not known lost.
      // Conceal this tick and keep waiting for it. Skipping it would throw it away as
      // too late when it comes, and a decoder fed a stream with a packet missing (opus
      // has no loss concealment here) plays a steady signal wrong for seconds after.
      return LOST;
    }
    if (this.targetDepth > 1 && this.packets.length < this.targetDepth) {
      // The due packet is missing, but arrivals are jittery and the buffer is shallower
      // than the jitter calls for: it may still come, so conceal this tick and wait for
      // it, deepening the delay by one packet. (A steady stream's gap is a loss.)
      return LOST;
    }
    // Later packets came and the due one did not: it is lost.
    this.next = (this.next + 1) & 0xffff;
    const following = this.concealedInARow > 0 ? this.indexOf(this.next) : -1;
    // Already concealed while waiting for it: that concealment stands for it, play on.
    if (following >= 0) return this.play(following);
    return LOST;
  }

  private play(index: number): Playout {
    const packet = this.take(index);
    this.next = (packet.sequenceNumber + 1) & 0xffff;
    this.concealedInARow = 0;
    const shed = this.shed.length === 0 ? NOTHING_SHED : this.shed;
    if (shed.length > 0) this.shed = [];
    this.shrinkWhenTooDeep();
    return { kind: 'packet', packet, shed };
  }

  private startsNewStream(packet: JitterPacket): boolean {
    if (packet.ssrc !== this.ssrc || !this.newest) return true;
    const sequenceJump = Math.abs(sequenceDistance(this.newest.sequenceNumber, packet.sequenceNumber));
    const samplesPerPacket = (this.options.clockRate * this.frameMs) / 1000;
    const timestampJump = Math.abs(((packet.timestamp - this.newest.timestamp) | 0) / samplesPerPacket);
    return sequenceJump > MAX_SEQUENCE_JUMP || timestampJump > MAX_SEQUENCE_JUMP * 2;
  }

  private reset(ssrc: number): void {
    this.packets.length = 0;
    this.ssrc = ssrc;
    this.next = undefined;
    this.newest = undefined;
    this.lastTransit = undefined;
    this.concealedInARow = 0;
    this.surplusPops = 0;
    this.lateHold = 0;
    this.shed = [];
  }

  private measureJitter(packet: JitterPacket, arrivalMs: number): void {
    const transit = (arrivalMs * this.options.clockRate) / 1000 - packet.timestamp;
    if (this.lastTransit !== undefined) {
      const d = Math.abs(transit - this.lastTransit);
      // A reordered packet's transit says nothing about the network's pace.
      if (d < this.options.clockRate) this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  /** Once the jitter has calmed down, a delay deeper than it calls for is given back, a packet at a time. */
  private shrinkWhenTooDeep(): void {
    this.surplusPops = this.packets.length >= this.targetDepth ? this.surplusPops + 1 : 0;
    if (this.surplusPops < SHRINK_AFTER_POPS) return;
    this.surplusPops = 0;
    this.dropOldest();
  }

  private dropOldest(): void {
    const oldest = this.oldestSequence();
    this.shed.push(this.take(this.indexOf(oldest)));
    if (this.shed.length > MAX_SHED) this.shed.shift();
    if (this.next !== undefined && sequenceDistance(this.next, oldest) >= 0) this.next = (oldest + 1) & 0xffff;
  }

  private oldestSequence(): number {
    let oldest = this.packets[0]!.sequenceNumber;
    for (const { sequenceNumber } of this.packets) {
      if (sequenceDistance(oldest, sequenceNumber) < 0) oldest = sequenceNumber;
    }
    return oldest;
  }

  private indexOf(sequenceNumber: number): number {
    const { packets } = this;
    for (let i = 0; i < packets.length; i++) if (packets[i]!.sequenceNumber === sequenceNumber) return i;
    return -1;
  }

  /** Removes the packet at `index`, moving the last one into its place. */
  private take(index: number): JitterPacket {
    const { packets } = this;
    const packet = packets[index]!;
    packets[index] = packets[packets.length - 1]!;
    packets.pop();
    return packet;
  }
}
