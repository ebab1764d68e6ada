import { randomInt } from 'node:crypto';

/** Safe in URLs and as a SIP user part. */
export const MEETING_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

export function isMeetingId(value: string): boolean {
  return MEETING_ID_PATTERN.test(value);
}

/**
 * A fresh meeting id: ten digits, so a phone keypad can enter it (the PSTN IVR asks for
 * the meeting id) and it reads well in sip:<id>@domain.
 */
export function newMeetingId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 1; i < 10; i++) id += String(randomInt(0, 10));
  return id;
}
