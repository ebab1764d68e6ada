/**
 * The caller's keypad as a remote control, as on Zoom's and Daily's dial-ins: `*6` (star,
 * then 6 within 3 s) toggles the caller's own mute. It only spots the sequence: every key
 * is still reported as a digit.
 */
export type KeypadCommand = 'toggle-mute';

/** How long after the star its 6 may come. */
export const KEYPAD_SEQUENCE_MS = 3000;

export class KeypadCommands {
  private starAt: number | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The command this key completes, if any. */
  press(digit: string): KeypadCommand | undefined {
    const at = this.now();
    const starAt = this.starAt;
    this.starAt = digit === '*' ? at : undefined;
    return digit === '6' && starAt !== undefined && at - starAt <= KEYPAD_SEQUENCE_MS ? 'toggle-mute' : undefined;
  }
}
