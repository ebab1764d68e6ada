/** The sixteen DTMF keys, and how RFC 4733 numbers them. */

/** RFC 4733 §3.2 event codes 0-15, in order: 0-9, *, #, A-D. */
const KEYS = '0123456789*#ABCD';

export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** The key for an RFC 4733 event code; undefined for the other events (16 is hook flash). */
export function digitForEvent(event: number): DtmfDigit | undefined {
  return Number.isInteger(event) && event >= 0 && event < KEYS.length ? (KEYS[event] as DtmfDigit) : undefined;
}

/** Exactly one key character; A-D in upper case only. */
export function isDtmfDigit(value: string): value is DtmfDigit {
  return value.length === 1 && KEYS.includes(value);
}
