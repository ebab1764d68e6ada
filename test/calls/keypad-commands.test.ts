import { describe, expect, it } from 'vitest';
import { KEYPAD_SEQUENCE_MS, KeypadCommands } from '../../src/calls/keypad-commands.js';

/** A keypad on a clock the test sets. */
function keypad() {
  let now = 0;
  const commands = new KeypadCommands(() => now);
  return {
    press(digit: string, atMs: number) {
      now = atMs;
      return commands.press(digit);
    },
  };
}

describe('KeypadCommands', () => {
  it('toggles the mute on *6, every time it is keyed', () => {
    const { press } = keypad();
    expect([press('*', 0), press('6', 500), press('*', 1000), press('6', 1000 + KEYPAD_SEQUENCE_MS)]).toEqual([undefined, 'toggle-mute', undefined, 'toggle-mute']);
  });

  it('takes no 6 that comes too long after its star, or after another key', () => {
    const { press } = keypad();
    expect(press('*', 0)).toBeUndefined();
    expect(press('6', KEYPAD_SEQUENCE_MS + 1)).toBeUndefined();
    expect(press('*', 10_000)).toBeUndefined();
    expect(press('1', 10_100)).toBeUndefined();
    expect(press('6', 10_200)).toBeUndefined();
    expect(press('6', 10_300)).toBeUndefined();
  });

  it('starts afresh from the last of several stars', () => {
    const { press } = keypad();
    press('*', 0);
    press('*', 2000);
    expect(press('6', 4500)).toBe('toggle-mute');
  });
});
