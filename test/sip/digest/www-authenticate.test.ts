import { describe, expect, it } from 'vitest';
import { wwwAuthenticate } from '../../../src/sip/digest/www-authenticate.js';

describe('wwwAuthenticate', () => {
  it.each([
    [
      'a first challenge',
      { realm: 'sip.example.com', nonce: 'n0nce' },
      [
        'Digest realm="sip.example.com", nonce="n0nce", algorithm=SHA-256, qop="auth"',
        'Digest realm="sip.example.com", nonce="n0nce", algorithm=MD5, qop="auth"',
      ],
    ],
    [
      'a re-challenge after an expired nonce',
      { realm: 'sip.example.com', nonce: 'n0nce', stale: true },
      [
        'Digest realm="sip.example.com", nonce="n0nce", algorithm=SHA-256, qop="auth", stale=true',
        'Digest realm="sip.example.com", nonce="n0nce", algorithm=MD5, qop="auth", stale=true',
      ],
    ],
    [
      'an opaque value, stale=false left out',
      { realm: 'sip.example.com', nonce: 'n0nce', opaque: 'op', stale: false },
      [
        'Digest realm="sip.example.com", nonce="n0nce", opaque="op", algorithm=SHA-256, qop="auth"',
        'Digest realm="sip.example.com", nonce="n0nce", opaque="op", algorithm=MD5, qop="auth"',
      ],
    ],
    [
      'quotes and backslashes escaped',
      { realm: 'a"b\\c', nonce: 'n' },
      ['Digest realm="a\\"b\\\\c", nonce="n", algorithm=SHA-256, qop="auth"', 'Digest realm="a\\"b\\\\c", nonce="n", algorithm=MD5, qop="auth"'],
    ],
  ])('formats %s: SHA-256 first, then MD5', (_what, challenge, expected) => {
    expect(wwwAuthenticate(challenge)).toEqual(expected);
  });

  it('refuses a value that would break the header', () => {
    expect(() => wwwAuthenticate({ realm: 'sip.example.com', nonce: 'n', opaque: 'x\r\nContact: <sip:evil>' })).toThrow(
      /control character/,
    );
  });
});
