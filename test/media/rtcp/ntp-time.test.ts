import { describe, expect, it } from 'vitest';
import { compactNtp, compactUnitsToMs, msToCompactUnits, ntpFromUnixMs } from '../../../src/media/rtcp/ntp-time.js';

describe('NTP time for RTCP', () => {
  it('puts the Unix epoch at 2208988800 s after the NTP epoch (1900)', () => {
    expect(ntpFromUnixMs(0)).toEqual({ seconds: 2_208_988_800, fraction: 0 });
  });

  it('carries the part of a second as a 32-bit binary fraction', () => {
    expect(ntpFromUnixMs(1500)).toEqual({ seconds: 2_208_988_801, fraction: 0x80000000 });
    expect(ntpFromUnixMs(250.25).fraction).toBe(Math.floor(0.25025 * 2 ** 32));
  });

  it('wraps the seconds into the next NTP era in February 2036', () => {
    const eraEndMs = (2 ** 32 - 2_208_988_800) * 1000;
    expect(ntpFromUnixMs(eraEndMs + 2000)).toEqual({ seconds: 2, fraction: 0 });
  });

  it('takes the middle 32 bits for LSR: the low 16 bits of the seconds, the high 16 of the fraction', () => {
    expect(compactNtp({ seconds: 0xe5f6a7b8, fraction: 0x80004321 })).toBe(0xa7b88000);
  });

  it('converts durations to and from 1/65536 s', () => {
    expect(msToCompactUnits(1000)).toBe(65536);
    expect(msToCompactUnits(-5)).toBe(0);
    expect(compactUnitsToMs(0x18000)).toBe(1500);
  });
});
