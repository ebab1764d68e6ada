import { randomInt } from 'node:crypto';

/** Safe in URLs and as a SIP user part. */
export const MEETING_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

export function isMeetingId(value: string): boolean {
  return MEETING_ID_PATTERN.test(value);
}

/** Keypad digits: a numeric meeting id is its own dial-in code. */
export function isKeypadDigits(value: string): boolean {
  return /^\d+$/.test(value);
}

/**
 * A fresh meeting id: ten digits, so a phone keypad can enter it (the PSTN IVR asks for
 * the meeting id) and it reads well in sip:<id>@domain.
 */
export function newMeetingId(): string {
  return randomDigits(10);
}

/** The code a PSTN caller types for a meeting whose id is not numeric: eight digits. */
export function newDialInCode(): string {
  return randomDigits(8);
}

/** No leading zero, so the code reads the same however a caller says it. */
function randomDigits(length: number): string {
  let digits = String(randomInt(1, 10));
  for (let i = 1; i < length; i++) digits += String(randomInt(0, 10));
  return digits;
}
