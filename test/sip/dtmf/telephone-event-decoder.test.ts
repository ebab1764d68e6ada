import { describe, expect, it } from 'vitest';
import { type DecodedDigit, type TelephoneEventPacket, TelephoneEventDecoder } from '../../../src/sip/dtmf/telephone-event-decoder.js';
import { eventPacket as te, keyPress } from './telephone-events.js';

function decode(clockRate: number, packets: readonly TelephoneEventPacket[]): DecodedDigit[] {
  const digits: DecodedDigit[] = [];
  const decoder = new TelephoneEventDecoder(clockRate, (digit) => digits.push(digit));
  for (const packet of packets) decoder.push(packet);
  return digits;
}

const T = 123_456; // an event's RTP timestamp
const WRAP = 0xffff_ff00; // 256 timestamp units before the wrap

describe('TelephoneEventDecoder', () => {
  it.each<[string, number, TelephoneEventPacket[], DecodedDigit[]]>([
    ['a press: marked start, updates, three end packets', 8000, keyPress(5, T, 800), [{ digit: '5', durationMs: 100 }]],
    ['the start packet lost', 8000, keyPress(5, T, 800).slice(1), [{ digit: '5', durationMs: 100 }]],
    ['only an end packet arrives: still reported once', 8000, [te(T, 5, 800, 'E')], [{ digit: '5', durationMs: 100 }]],
    ['a start without the marker (carriers that never set it)', 8000, [te(T, 7, 160), te(T, 7, 320, 'E')], [{ digit: '7', durationMs: 40 }]],
    [
      'two keys in a row',
      8000,
      [...keyPress(1, T, 800), ...keyPress(11, T + 1600, 960)],
      [
        { digit: '1', durationMs: 100 },
        { digit: '#', durationMs: 120 },
      ],
    ],
    [
      'the same key twice: told apart by the timestamp',
      8000,
      [...keyPress(3, T, 800), ...keyPress(3, T + 1600, 800)],
      [
        { digit: '3', durationMs: 100 },
        { digit: '3', durationMs: 100 },
      ],
    ],
    [
      'the same key twice from a carrier that never sets the marker',
      8000,
      [te(T, 3, 160), te(T, 3, 800, 'E'), te(T + 1600, 3, 160), te(T + 1600, 3, 800, 'E')],
      [
        { digit: '3', durationMs: 100 },
        { digit: '3', durationMs: 100 },
      ],
    ],
    [
      'every end packet lost: reported, cut short, when the next event starts',
      8000,
      [te(T, 1, 160, 'M'), te(T, 1, 320), te(T, 1, 480), ...keyPress(2, T + 1600, 800)],
      [
        { digit: '1', durationMs: 60 },
        { digit: '2', durationMs: 100 },
      ],
    ],
    [
      'the same key again after a lost end: its marker makes it a new press',
      8000,
      [te(T, 4, 160, 'M'), te(T, 4, 320), ...keyPress(4, T + 1600, 800)],
      [
        { digit: '4', durationMs: 40 },
        { digit: '4', durationMs: 100 },
      ],
    ],
    [
      'after a lost end, another key unmarked is a new press',
      8000,
      [te(T, 1, 160), te(T, 1, 320), te(T + 1600, 2, 160), te(T + 1600, 2, 800, 'E')],
      [
        { digit: '1', durationMs: 40 },
        { digit: '2', durationMs: 100 },
      ],
    ],
    [
      'after a lost end, the same key unmarked but seconds later is a new press',
      8000,
      [te(T, 6, 160, 'M'), te(T, 6, 320), te(T + 80_000, 6, 160), te(T + 80_000, 6, 800, 'E')],
      [
        { digit: '6', durationMs: 40 },
        { digit: '6', durationMs: 100 },
      ],
    ],
    ['reordered: an end packet overtakes an update', 8000, [te(T, 9, 160, 'M'), te(T, 9, 480, 'E'), te(T, 9, 320), te(T, 9, 480, 'E')], [{ digit: '9', durationMs: 60 }]],
    ['reordered: updates out of order keep the longest duration', 8000, [te(T, 9, 480), te(T, 9, 160, 'M'), te(T, 9, 320), te(T, 9, 400, 'E')], [{ digit: '9', durationMs: 60 }]],
    ['every packet duplicated', 8000, keyPress(6, T, 800).flatMap((p) => [p, p]), [{ digit: '6', durationMs: 100 }]],
    [
      'a late packet of the previous press after the next one started',
      8000,
      [...keyPress(1, T, 800).slice(0, -1), ...keyPress(2, T + 1600, 800).slice(0, 2), te(T, 1, 800, 'E'), te(T + 1600, 2, 800, 'E')],
      [
        { digit: '1', durationMs: 100 },
        { digit: '2', durationMs: 100 },
      ],
    ],
    [
      'timestamps wrapping past 2^32 between two presses',
      8000,
      [...keyPress(1, WRAP, 800), ...keyPress(2, WRAP + 1600, 800)],
      [
        { digit: '1', durationMs: 100 },
        { digit: '2', durationMs: 100 },
      ],
    ],
    [
      'a pre-wrap packet arriving after a post-wrap press is late, not new',
      8000,
      [...keyPress(1, WRAP, 800), ...keyPress(2, WRAP + 1600, 800), te(WRAP, 1, 800, 'E')],
      [
        { digit: '1', durationMs: 100 },
        { digit: '2', durationMs: 100 },
      ],
    ],
    [
      'events 10-15 are *, #, A-D',
      8000,
      [10, 11, 12, 13, 14, 15].map((event, i) => te(T + i * 1600, event, 800, 'ME')),
      (['*', '#', 'A', 'B', 'C', 'D'] as const).map((digit) => ({ digit, durationMs: 100 })),
    ],
    ['hook flash (16) and other events are not digits', 8000, [...keyPress(16, T, 800), ...keyPress(32, T + 1600, 800), ...keyPress(0, T + 3200, 800)], [{ digit: '0', durationMs: 100 }]],
    ['another event under the current timestamp is malformed and ignored', 8000, [te(T, 5, 160, 'M'), te(T, 8, 8000), te(T, 5, 480, 'E')], [{ digit: '5', durationMs: 60 }]],
    ['a payload shorter than one report is ignored', 8000, [{ timestamp: T, marker: true, payload: Buffer.from([5, 0x8a]) }], []],
    ['telephone-event/48000 beside opus', 48000, keyPress(8, T, 4800, 960), [{ digit: '8', durationMs: 100 }]],
    [
      'a press longer than the 16-bit duration: the next segment, unmarked, continues it',
      48000,
      [te(T, 0, 960, 'M'), te(T, 0, 0xffff), te(T + 0xffff, 0, 960), te(T + 0xffff, 0, 9600, 'E'), te(T + 0xffff, 0, 9600, 'E')],
      [{ digit: '0', durationMs: 1565 }],
    ],
  ])('%s', (_name, clockRate, packets, expected) => {
    expect(decode(clockRate, packets)).toEqual(expected);
  });
});
