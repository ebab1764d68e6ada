import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterPacket, type Playout } from '../../../src/media/mixer/jitter-buffer.js';

const CLOCK = 48_000;
const STEP = 960; // 20 ms at 48 kHz

const packet = (sequenceNumber: number, ssrc = 1, timestamp = sequenceNumber * STEP): JitterPacket => ({
  ssrc,
  sequenceNumber: sequenceNumber & 0xffff,
  timestamp: timestamp >>> 0,
  payload: Buffer.from([sequenceNumber & 0xff]),
});

/** What pop() gave, as "seq", "lost" or "idle". */
const describePlayout = (p: Playout) => (p.kind === 'packet' ? String(p.packet.sequenceNumber) : p.kind);

/** Feeds packets on a perfect 20 ms clock (arrival = send time), popping once per tick after each push. */
function playEvenly(buffer: JitterBuffer, sequenceNumbers: number[]): string[] {
  return sequenceNumbers.map((seq, tick) => {
    buffer.push(packet(seq), tick * 20);
    return describePlayout(buffer.pop());
  });
}

describe('JitterBuffer', () => {
  it('plays packets in order with one packet of delay when arrivals are even', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    expect(playEvenly(buffer, [10, 11, 12, 13])).toEqual(['10', '11', '12', '13']);
    expect(buffer.targetDepth).toBe(1);
  });

  it('puts reordered packets back in order and drops duplicates', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK, minDepth: 2 });
    for (const seq of [1, 3, 2, 2, 4, 3]) buffer.push(packet(seq), seq * 20);
    expect([1, 2, 3, 4].map(() => describePlayout(buffer.pop()))).toEqual(['1', '2', '3', '4']);
    expect(buffer.size).toBe(0);
  });

  it('reports a gap as a loss to conceal, and drops a packet that comes after its turn', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    const out = [describePlayout((buffer.push(packet(1), 0), buffer.pop()))];
    buffer.push(packet(3), 40);
    out.push(describePlayout(buffer.pop()), describePlayout(buffer.pop()));
    buffer.push(packet(2), 45); // too late: 2 was concealed already
    expect(buffer.size).toBe(0);
    expect(out).toEqual(['1', 'lost', '3']);
    // What the metrics count: one concealed frame, one packet too late.
    expect({ concealed: buffer.concealedFrames, late: buffer.latePackets }).toEqual({ concealed: 1, late: 1 });
  });

  it('waits for a packet that is late after an event-loop stall instead of skipping it: every packet plays, in order', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    const played = playEvenly(buffer, [0, 1, 2, 3, 4]);
    // The loop stalls for 60 ms: two ticks are caught up before the packets of the stall are read.
    played.push(describePlayout(buffer.pop()), describePlayout(buffer.pop()));
    for (const seq of [5, 6, 7]) buffer.push(packet(seq), 140);
    for (let seq = 8; seq < 12; seq++) {
      played.push(describePlayout(buffer.pop()));
      buffer.push(packet(seq), seq * 20);
    }
    expect(played).toEqual(['0', '1', '2', '3', '4', 'lost', 'lost', '5', '6', '7', '8']);
  });

  it('conceals a packet lost while it ran dry once, and plays on with the next', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    const played = playEvenly(buffer, [0, 1, 2]);
    played.push(describePlayout(buffer.pop())); // 3 never comes
    played.push(...playEvenly(buffer, [4, 5]));
    expect(played).toEqual(['0', '1', '2', 'lost', '4', '5']);
    expect(buffer.size).toBe(0); // no delay added for it
  });

  it('wraps sequence numbers around 65535', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    expect(playEvenly(buffer, [65534, 65535, 65536, 65537])).toEqual(['65534', '65535', '0', '1']);
  });

  it('conceals a few packets when it runs dry, then goes idle and refills', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    playEvenly(buffer, [1, 2]);
    expect([1, 2, 3, 4, 5].map(() => describePlayout(buffer.pop()))).toEqual(['lost', 'lost', 'lost', 'idle', 'idle']);
    buffer.push(packet(9), 200);
    expect(describePlayout(buffer.pop())).toBe('9');
  });

  it('starts over on a new SSRC or a sequence jump, without waiting for the old numbers', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    playEvenly(buffer, [1, 2, 3]);
    buffer.push(packet(500, 2), 80);
    expect(describePlayout(buffer.pop())).toBe('500');
    buffer.push(packet(30_000, 2), 100);
    expect(describePlayout(buffer.pop())).toBe('30000');
  });

  it('grows its delay with the jitter up to 60 ms, and shrinks it back when arrivals even out', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    for (let seq = 0; seq < 200; seq++) buffer.push(packet(seq), seq * 20 + (seq % 2) * 20);
    expect(buffer.targetDepth).toBe(2);
    for (let seq = 200; seq < 400; seq++) buffer.push(packet(seq), seq * 20 + (seq % 2) * 50);
    expect(buffer.targetDepth).toBe(3);
    for (let seq = 400; seq < 800; seq++) buffer.push(packet(seq), seq * 20 + 50);
    expect(buffer.targetDepth).toBe(1);
  });

  it('waits for late packets while arrivals are jittery, then gives the extra delay back once they are steady', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    const played: string[] = [];
    for (let tick = 0; tick < 100; tick++) {
      buffer.push(packet(tick ^ 1), tick * 20); // every pair swapped: each even packet a tick late
      played.push(describePlayout(buffer.pop()));
    }
    expect(played.slice(30)).not.toContain('lost');
    for (let tick = 100; tick < 700; tick++) {
      buffer.push(packet(tick), tick * 20);
      buffer.pop();
    }
    expect(buffer.targetDepth).toBe(1);
    expect(buffer.size).toBe(0); // back to one packet of delay: each packet plays as it arrives
  });

  it('keeps two packets of delay for a while after one packet came too late, even on a steady path', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    expect(playEvenly(buffer, [0, 1, 2, 4, 3, 5, 6])).toEqual(['0', '1', '2', 'lost', '4', '5', '6']);
    expect(buffer.targetDepth).toBe(2);
    for (let seq = 7; seq < 600; seq++) {
      buffer.push(packet(seq), seq * 20);
      buffer.pop();
    }
    expect(buffer.targetDepth).toBe(1);
  });

  it('drops the oldest packets of a burst instead of keeping its delay for good', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    playEvenly(buffer, [1, 2, 3]);
    for (let seq = 4; seq < 24; seq++) buffer.push(packet(seq), 60);
    expect(buffer.size).toBe(6);
    const playout = buffer.pop();
    expect(describePlayout(playout)).toBe('18');
    // The last ones dropped go along, for the decoder to follow the stream through them.
    expect(playout.kind === 'packet' && playout.shed.map(({ sequenceNumber }) => sequenceNumber)).toEqual([13, 14, 15, 16, 17]);
  });

  it('remembers the level of the newest packet', () => {
    const buffer = new JitterBuffer({ clockRate: CLOCK });
    expect(buffer.level).toBe(127);
    buffer.push({ ...packet(1), level: 30 }, 0);
    buffer.push({ ...packet(0), level: 90 }, 5);
    expect(buffer.level).toBe(30);
  });
});
