/**
 * What we measure of one incoming RTP stream, for our report blocks about it (RFC 3550):
 * the extended highest sequence number with its probation and resynchronisation (A.1),
 * packets lost in total and since the last report (A.3), and interarrival jitter (A.8).
 */

const SEQUENCE_MODULO = 0x10000;
/** A jump forward this large is a gap in the stream; beyond it, a restart (A.1). */
const MAX_DROPOUT = 3000;
/** A jump back this large is a late or duplicate packet; beyond it, a restart (A.1). */
const MAX_MISORDER = 100;
/** Packets in sequence needed before a new source counts (A.1). */
const MIN_SEQUENTIAL = 2;

export class ReceiveStatistics {
  private baseSequence = 0;
  private maxSequence: number;
  private cycles = 0;
  private badSequence = SEQUENCE_MODULO + 1;
  private probation = MIN_SEQUENTIAL;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** The last packet's RTP timestamp and arrival, for the next one's transit difference (NaN before the first). */
  private previousTimestamp = Number.NaN;
  private previousArrivalMs = Number.NaN;
  /** In RTP timestamp units, as a real number (A.8's floating-point form). */
  private jitterUnits = 0;

  constructor(
    readonly ssrc: number,
    firstSequence: number,
    private readonly clockRate: number,
  ) {
    // A new source starts on probation: its first packet only sets where the sequence should go on.
    this.maxSequence = (firstSequence - 1) & 0xffff;
  }

  /**
   * Counts a packet by its sequence number (A.1 update_seq). False when it does not count:
   * the source is still on probation, or it jumped far and the next packet has not confirmed it.
   */
  countSequence(sequence: number): boolean {
    const delta = (sequence - this.maxSequence) & 0xffff;
    if (this.probation > 0) {
      if (sequence === ((this.maxSequence + 1) & 0xffff)) {
        this.probation--;
        this.maxSequence = sequence;
        if (this.probation === 0) {
          this.restartAt(sequence);
          this.received++;
          return true;
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSequence = sequence;
      }
      return false;
    }
    if (delta < MAX_DROPOUT) {
      if (sequence < this.maxSequence) this.cycles += SEQUENCE_MODULO;
      this.maxSequence = sequence;
    } else if (delta <= SEQUENCE_MODULO - MAX_MISORDER) {
      // A very large jump: the sender restarted, if the next packet follows this one.
      if (sequence !== this.badSequence) {
        this.badSequence = (sequence + 1) & 0xffff;
        return false;
      }
      this.restartAt(sequence);
    }
    // Else a duplicate or a late packet: counted, and the highest sequence stays.
    this.received++;
    return true;
  }

  /**
   * A.8: J += (|D| - J) / 16, where D is how much more (or less) time passed between two
   * arrivals than between their RTP timestamps, in timestamp units.
   */
  updateJitter(timestamp: number, arrivalMs: number): void {
    const previousTimestamp = this.previousTimestamp;
    const previousArrivalMs = this.previousArrivalMs;
    this.previousTimestamp = timestamp;
    this.previousArrivalMs = arrivalMs;
    if (Number.isNaN(previousTimestamp)) return;
    const arrivalUnits = ((arrivalMs - previousArrivalMs) * this.clockRate) / 1000;
    const timestampUnits = (timestamp - previousTimestamp) | 0; // signed, across the 2^32 wrap
    const difference = Math.abs(arrivalUnits - timestampUnits);
    this.jitterUnits += (difference - this.jitterUnits) / 16;
  }

  get counting(): boolean {
    return this.probation === 0;
  }

  get extendedHighestSequence(): number {
    return (this.cycles + this.maxSequence) >>> 0;
  }

  get expected(): number {
    return this.cycles + this.maxSequence - this.baseSequence + 1;
  }

  get packetsReceived(): number {
    return this.received;
  }

  /** Expected minus received: negative when duplicates arrived (A.3). */
  get cumulativeLost(): number {
    return this.expected - this.received;
  }

  get jitter(): number {
    return this.jitterUnits;
  }

  get jitterMs(): number {
    return (this.jitterUnits * 1000) / this.clockRate;
  }

  get receivedSinceLastReport(): boolean {
    return this.received > this.receivedPrior;
  }

  /** A.3: the fraction lost since the last report, in 1/256, and starts the next interval. */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval === 0 || lostInterval <= 0) return 0;
    return Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
  }

  private restartAt(sequence: number) {
    this.baseSequence = sequence;
    this.maxSequence = sequence;
    this.badSequence = SEQUENCE_MODULO + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }
}
