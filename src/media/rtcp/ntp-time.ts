/**
 * NTP timestamps for RTCP (RFC 3550 §4): seconds since 1900 and a 32-bit binary fraction.
 * Times come in as milliseconds since the Unix epoch, the clock the caller passes as `nowMs`.
 */

const UNIX_TO_NTP_SECONDS = 2_208_988_800;
const TWO_TO_32 = 2 ** 32;

export interface NtpTimestamp {
  readonly seconds: number;
  readonly fraction: number;
}

/** The NTP timestamp of a Unix time in ms; seconds wrap at 2^32 as NTP eras do (2036). */
export function ntpFromUnixMs(unixMs: number): NtpTimestamp {
  const wholeSeconds = Math.floor(unixMs / 1000);
  const fraction = Math.min(TWO_TO_32 - 1, Math.floor(((unixMs - wholeSeconds * 1000) / 1000) * TWO_TO_32));
  return { seconds: (wholeSeconds + UNIX_TO_NTP_SECONDS) >>> 0, fraction };
}

/** The middle 32 bits of an NTP timestamp (16.16 fixed point seconds), as LSR carries it (§6.4.1). */
export const compactNtp = ({ seconds, fraction }: NtpTimestamp) => (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;

/** A duration in ms as 1/65536 s units, the unit of DLSR. */
export const msToCompactUnits = (ms: number) => Math.max(0, Math.round((ms * 65536) / 1000)) >>> 0;

/** A duration in 1/65536 s units as ms. */
export const compactUnitsToMs = (units: number) => (units * 1000) / 65536;
