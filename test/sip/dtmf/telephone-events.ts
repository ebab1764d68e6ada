/** RFC 4733 packets as phones send them, for tests. */
import type { TelephoneEventPacket } from '../../../src/sip/dtmf/telephone-event-decoder.js';

/** One event report (RFC 4733 §2.3): event code, E bit, volume 10 (-10 dBm0), duration. */
export function eventPayload(event: number, duration: number, end = false): Buffer {
  const payload = Buffer.alloc(4);
  payload[0] = event;
  payload[1] = (end ? 0x80 : 0) | 10;
  payload.writeUInt16BE(duration, 2);
  return payload;
}

/** One packet; flags: M = marker, E = end. */
export function eventPacket(timestamp: number, event: number, duration: number, flags = ''): TelephoneEventPacket {
  return { timestamp: timestamp >>> 0, marker: flags.includes('M'), payload: eventPayload(event, duration, flags.includes('E')) };
}

/**
 * A whole key press: a marked start, an update every `step` timestamp units, then the
 * final report three times (RFC 4733 §2.5.1.4).
 */
export function keyPress(event: number, timestamp: number, duration: number, step = 160): TelephoneEventPacket[] {
  const packets = [eventPacket(timestamp, event, step, 'M')];
  for (let d = 2 * step; d < duration; d += step) packets.push(eventPacket(timestamp, event, d));
  for (let i = 0; i < 3; i++) packets.push(eventPacket(timestamp, event, duration, 'E'));
  return packets;
}
