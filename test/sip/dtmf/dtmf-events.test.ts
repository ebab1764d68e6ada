import { describe, expect, it } from 'vitest';
import type { DtmfDigit } from '../../../src/sip/dtmf/dtmf-digit.js';
import { DtmfReceiver, type DtmfSource, type ReceivedDigit } from '../../../src/sip/dtmf/dtmf-events.js';

/** [arrival in ms, digit, source] */
type Arrival = [at: number, digit: DtmfDigit, source: DtmfSource];

const WINDOW_MS = 2000;

function receive(arrivals: readonly Arrival[]): string {
  let now = 0;
  const receiver = new DtmfReceiver({ duplicateWindowMs: WINDOW_MS, now: () => now });
  const emitted: ReceivedDigit[] = [];
  receiver.on('digit', (digit) => emitted.push(digit));
  for (const [at, digit, source] of arrivals) {
    now = at;
    receiver.receive({ digit, source });
  }
  return emitted.map((d) => `${d.digit}:${d.source}`).join(' ');
}

describe('DtmfReceiver', () => {
  it.each<[string, Arrival[], string]>([
    ['RFC 4733 only', [[0, '1', 'rfc4733'], [300, '2', 'rfc4733']], '1:rfc4733 2:rfc4733'],
    ['INFO only, the same key twice quickly', [[0, '5', 'sip-info'], [100, '5', 'sip-info']], '5:sip-info 5:sip-info'],
    ['both ways: INFO at the press, RFC 4733 at its end', [[0, '5', 'sip-info'], [180, '5', 'rfc4733']], '5:sip-info'],
    ['both ways, RFC 4733 first', [[0, '5', 'rfc4733'], [40, '5', 'sip-info']], '5:rfc4733'],
    [
      'both ways, the same key twice: two presses',
      [[0, '1', 'sip-info'], [180, '1', 'rfc4733'], [400, '1', 'sip-info'], [580, '1', 'rfc4733']],
      '1:sip-info 1:sip-info',
    ],
    [
      'both ways, interleaved: each report pairs with one from the other source',
      [[0, '1', 'sip-info'], [150, '1', 'sip-info'], [200, '1', 'rfc4733'], [350, '1', 'rfc4733']],
      '1:sip-info 1:sip-info',
    ],
    ['both ways, different keys', [[0, '1', 'sip-info'], [180, '2', 'rfc4733']], '1:sip-info 2:rfc4733'],
    ['the other report outside the window is a new press', [[0, '7', 'sip-info'], [WINDOW_MS + 1, '7', 'rfc4733']], '7:sip-info 7:rfc4733'],
    ['the other report at the window edge is still the same press', [[0, '7', 'sip-info'], [WINDOW_MS, '7', 'rfc4733']], '7:sip-info'],
  ])('%s', (_name, arrivals, expected) => {
    expect(receive(arrivals)).toBe(expected);
  });

  it('passes the duration of the report it keeps', () => {
    const receiver = new DtmfReceiver();
    const emitted: ReceivedDigit[] = [];
    receiver.on('digit', (digit) => emitted.push(digit));
    receiver.receive({ digit: '#', source: 'rfc4733', durationMs: 120 });
    receiver.receive({ digit: '#', source: 'sip-info', durationMs: 250 });
    expect(emitted).toEqual([{ digit: '#', source: 'rfc4733', durationMs: 120 }]);
  });
});
