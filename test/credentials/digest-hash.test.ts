import { describe, expect, it } from 'vitest';
import { type DigestAlgorithm, digestResponse, ha1, hashCredential } from '../../src/credentials/digest-hash.js';

// RFC 7616 §3.9.1: user "Mufasa", password "Circle of Life" (lowercase "of", erratum 4495).
const RFC7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('digest arithmetic', () => {
  it.each<[DigestAlgorithm, string]>([
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
  ])('reproduces the RFC 7616 §3.9.1 %s response', (algorithm, response) => {
    const { username, password, realm } = RFC7616;
    expect(
      digestResponse({ ...RFC7616, algorithm, qop: 'auth', ha1: ha1(algorithm, username, realm, password) }),
    ).toBe(response);
  });

  it('hashes a credential into the two HA1 digests a SipCredential stores', () => {
    const stored = hashCredential(RFC7616.username, RFC7616.realm, RFC7616.password);
    // Reference values from `openssl dgst` over "Mufasa:http-auth@example.org:Circle of Life".
    expect(stored).toEqual({
      ha1Md5: '3d78807defe7de2157e2b0b6573a855f',
      ha1Sha256: '7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232',
    });
  });

  it('hashes non-ASCII usernames and passwords as UTF-8, not Latin-1', () => {
    // openssl dgst -md5 over the UTF-8 bytes; the Latin-1 bytes would give fe7818eb...
    expect(ha1('MD5', 'jürgen', 'sip.example.com', 'pässwörd')).toBe('737accd9395fae968105b64700e22ec8');
  });
});
