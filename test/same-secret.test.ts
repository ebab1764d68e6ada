import { describe, expect, it } from 'vitest';
import { sameSecret } from '../src/same-secret.js';

describe('sameSecret', () => {
  it('is true only for the same secret, whatever the lengths of what was sent', () => {
    expect(sameSecret('api-token-0123456789', 'api-token-0123456789')).toBe(true);
    expect(sameSecret('api-token-0123456789', 'api-token-0123456788')).toBe(false);
    expect(sameSecret('api-token-0123456789', 'api-token')).toBe(false);
    expect(sameSecret('api-token-0123456789', `api-token-0123456789${'x'.repeat(10_000)}`)).toBe(false);
    expect(sameSecret('api-token-0123456789', '')).toBe(false);
  });

  it('compares bytes and text alike, text as UTF-8', () => {
    const mac = Buffer.from('c0ffee00deadbeef', 'hex');
    expect(sameSecret(mac, Buffer.from(mac))).toBe(true);
    expect(sameSecret(mac, mac.subarray(0, 4))).toBe(false);
    expect(sameSecret('pässwörd', Buffer.from('pässwörd', 'utf8'))).toBe(true);
  });
});
