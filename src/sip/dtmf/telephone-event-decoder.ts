/**
 * RFC 4733 telephone-events to key presses, each reported once with its duration.
 *
 * Every packet of one event carries the event's start as its RTP timestamp (§2.3), so the
 * timestamp tells events apart, not the marker bit: some carriers never set the marker
 * (livekit/sip#585), and a start packet can be lost. That also settles the rest: a packet
 * older than the current event is late and dropped, the same key pressed twice comes
 * with two timestamps, and comparing timestamps modulo 2^32 survives their wrap. The
 * marker only serves to tell a new press of the same key from the next segment of a
 * press too long for the 16-bit duration field, which arrives without it (§2.5.1.3).
 *
 * A press is reported when its end is seen (E bit; the three redundant end packets count
 * once), so the report carries its duration. Should all three end packets be lost, the
 * press is reported, cut short, when the next event starts.
 */
import { type DtmfDigit, digitForEvent } from './dtmf-digit.js';

/** The RTP fields read from a packet of the negotiated telephone-event payload type. */
export interface TelephoneEventPacket {
  readonly timestamp: number;
  readonly marker: boolean;
  readonly payload: Buffer;
}

export interface DecodedDigit {
  readonly digit: DtmfDigit;
  readonly durationMs: number;
}

/** The duration field's limit; longer presses are sent as segments. */
const MAX_SEGMENT_DURATION = 0xffff;

interface EventReport {
  readonly event: number;
  /** The RTP timestamp of the segment being reported. */
  timestamp: number;
  /** Timestamp units of the segments before this one. */
  earlier: number;
  duration: number;
  ended: boolean;
}

export class TelephoneEventDecoder {
  private current: EventReport | undefined;

  constructor(
    /** The telephone-event's RTP clock: 8000, or the codec's (48000 beside opus). */
    private readonly clockRate: number,
    private readonly onDigit: (digit: DecodedDigit) => void,
  ) {}

  push(packet: TelephoneEventPacket): void {
    // Only the first event report is read: RFC 4733 senders put one per packet in practice.
    if (packet.payload.length < 4) return;
    const event = packet.payload[0]!;
    const end = (packet.payload[1]! & 0x80) !== 0;
    const duration = packet.payload.readUInt16BE(2);
    const report = this.reportFor(packet, event, duration);
    if (report && end) this.finish(report);
  }

  /** The report this packet adds to, or undefined when it is late or stale. */
  private reportFor(packet: TelephoneEventPacket, event: number, duration: number): EventReport | undefined {
    const current = this.current;
    const age = current ? timestampDiff(packet.timestamp, current.timestamp) : 1;
    if (current && age < 0) return undefined;
    if (current && age === 0) {
      if (event !== current.event) return undefined;
      current.duration = Math.max(current.duration, duration);
      return current;
    }
    if (current && !current.ended && !packet.marker && event === current.event && age <= MAX_SEGMENT_DURATION) {
      // The next segment of a long press, not a new one.
      current.earlier += age;
      current.timestamp = packet.timestamp;
      current.duration = duration;
      return current;
    }
    if (current) this.finish(current);
    this.current = { event, timestamp: packet.timestamp, earlier: 0, duration, ended: false };
    return this.current;
  }

  private finish(report: EventReport): void {
    if (report.ended) return;
    report.ended = true;
    const digit = digitForEvent(report.event);
    if (digit) this.onDigit({ digit, durationMs: Math.round(((report.earlier + report.duration) * 1000) / this.clockRate) });
  }
}

/** a - b for RTP timestamps, which wrap at 2^32 (RFC 3550 §5.1). */
function timestampDiff(a: number, b: number): number {
  return (a - b) | 0;
}
