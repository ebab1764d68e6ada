import { beforeEach, describe, expect, it } from 'vitest';
import { parseAuthorization } from '../../../src/sip/digest/authorization-header.js';
import { hashCredential } from '../../../src/credentials/digest-hash.js';
import { type DigestAttempt, type DigestOutcome, DigestVerifier } from '../../../src/sip/digest/digest-verifier.js';
import { MemoryNonceCountStore } from '../../../src/sip/digest/nonce-count-store.js';
import { NonceIssuer, type NonceVerifier } from '../../../src/sip/digest/nonce-issuer.js';
import type { SipCredential } from '../../../src/store/store.js';
import { type DigestReply, digestReply } from './digest-client.js';

const REALM = 'sip.example.com';
const REQUEST_URI = 'sip:1234567890@sip.example.com';
const PASSWORD = 'correct horse battery';
const alice: SipCredential = { username: 'alice', realm: REALM, ...hashCredential('alice', REALM, PASSWORD), createdAt: 0 };

describe('DigestVerifier', () => {
  const clock = { now: 1_700_000_000_000 };
  let nonces: NonceIssuer;
  let verifier: DigestVerifier;

  beforeEach(() => {
    clock.now = 1_700_000_000_000;
    nonces = new NonceIssuer({ secret: 'deployment-wide nonce secret 0123', realm: REALM, now: () => clock.now });
    verifier = new DigestVerifier({ realm: REALM, nonces, nonceCounts: new MemoryNonceCountStore({ now: () => clock.now }) });
  });

  /** What a phone sends after our 401, with one thing changed per test row. */
  function reply(overrides: Partial<DigestReply> = {}): string {
    return digestReply({
      layout: 'baresip',
      username: 'alice',
      password: PASSWORD,
      realm: REALM,
      nonce: nonces.issue(),
      method: 'INVITE',
      uri: REQUEST_URI,
      algorithm: 'MD5',
      nc: 1,
      cnonce: '0a4f113b9c2d5e7f',
      ...overrides,
    });
  }

  function verify(header: string, attempt: Partial<Omit<DigestAttempt, 'credentials'>> = {}): Promise<DigestOutcome> {
    return verifier.verify({ credentials: parseAuthorization(header), method: 'INVITE', requestUri: REQUEST_URI, credential: alice, ...attempt });
  }

  it.each<[string, () => string, Partial<Omit<DigestAttempt, 'credentials'>>, DigestOutcome]>([
    ['baresip (libre) MD5 reply', () => reply(), {}, { ok: true, username: 'alice', algorithm: 'MD5' }],
    ['compact MD5 reply (no spaces)', () => reply({ layout: 'compact' }), {}, { ok: true, username: 'alice', algorithm: 'MD5' }],
    ['SHA-256 reply', () => reply({ algorithm: 'SHA-256' }), {}, { ok: true, username: 'alice', algorithm: 'SHA-256' }],
    ['reply without algorithm (MD5 by default)', () => reply().replace(', algorithm=MD5', ''), {}, { ok: true, username: 'alice', algorithm: 'MD5' }],
    ['lowercase algorithm name', () => reply().replace('algorithm=MD5', 'algorithm=md5'), {}, { ok: true, username: 'alice', algorithm: 'MD5' }],
    [
      'digest-uri differing from the Request-URI only in host case and parameters',
      () => reply({ uri: 'sip:1234567890@SIP.example.com' }),
      { requestUri: `${REQUEST_URI};transport=tcp` },
      { ok: true, username: 'alice', algorithm: 'MD5' },
    ],
    ['wrong password', () => reply({ password: 'Correct horse battery' }), {}, { ok: false, reason: 'wrong-password' }],
    ['wrong password (SHA-256)', () => reply({ password: 'guess', algorithm: 'SHA-256' }), {}, { ok: false, reason: 'wrong-password' }],
    ['response computed for another method', () => reply({ method: 'REGISTER' }), {}, { ok: false, reason: 'wrong-password' }],
    ['unknown user', () => reply({ username: 'mallory' }), { credential: undefined }, { ok: false, reason: 'unknown-user' }],
    [
      'credential stored for another realm',
      () => reply(),
      { credential: { ...alice, realm: 'old.example.com' } },
      { ok: false, reason: 'unknown-user' },
    ],
    ['realm mismatch', () => reply({ realm: 'evil.example.com' }), {}, { ok: false, reason: 'realm-mismatch' }],
    ['MD5-sess (not offered)', () => reply().replace('algorithm=MD5', 'algorithm=MD5-sess'), {}, { ok: false, reason: 'bad-algorithm' }],
    ['SHA-512-256 (not offered)', () => reply().replace('algorithm=MD5', 'algorithm=SHA-512-256'), {}, { ok: false, reason: 'bad-algorithm' }],
    ['no qop (RFC 2069 style)', () => reply().replace(', qop=auth', ''), {}, { ok: false, reason: 'bad-qop' }],
    ['qop=auth-int (not offered)', () => reply().replace('qop=auth', 'qop=auth-int'), {}, { ok: false, reason: 'bad-qop' }],
    ['no cnonce', () => reply().replace(/, cnonce="[^"]*"/, ''), {}, { ok: false, reason: 'bad-qop' }],
    ['no nc', () => reply().replace(/, nc=\w+/, ''), {}, { ok: false, reason: 'bad-qop' }],
    ['digest-uri for another meeting', () => reply({ uri: 'sip:999@sip.example.com' }), {}, { ok: false, reason: 'uri-mismatch' }],
    ['forged nonce', () => reply({ nonce: 'A'.repeat(75) }), {}, { ok: false, reason: 'invalid-nonce' }],
    [
      'nonce from a gateway with another secret',
      () => reply({ nonce: new NonceIssuer({ secret: 'another deployment secret 456789', realm: REALM }).issue() }),
      {},
      { ok: false, reason: 'invalid-nonce' },
    ],
  ])('%s', async (_name, header, attempt, expected) => {
    expect(await verify(header(), attempt)).toEqual(expected);
  });

  it('verifies the RFC 7616 §3.9.1 example end to end (SHA-256 and MD5)', async () => {
    const rfcNonces: NonceVerifier = { check: () => 'valid', ttlMs: 300_000 };
    const rfcVerifier = new DigestVerifier({ realm: 'http-auth@example.org', nonces: rfcNonces, nonceCounts: new MemoryNonceCountStore() });
    const mufasa = { username: 'Mufasa', realm: 'http-auth@example.org', ...hashCredential('Mufasa', 'http-auth@example.org', 'Circle of Life') };
    const rfcHeader = (algorithm: string, response: string) =>
      `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=${algorithm}, ` +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ' +
      `qop=auth, response="${response}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
    const attempt = (header: string) =>
      rfcVerifier.verify({ credentials: parseAuthorization(header), method: 'GET', requestUri: '/dir/index.html', credential: mufasa });

    expect(await attempt(rfcHeader('SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'))).toEqual({
      ok: true,
      username: 'Mufasa',
      algorithm: 'SHA-256',
    });
    // Same nonce and nc again: a replay, even with the other algorithm.
    expect(await attempt(rfcHeader('MD5', '8ca523f5e9506fed4657c9700eebdbec'))).toEqual({ ok: false, reason: 'nc-reused' });
  });

  describe('an expired nonce', () => {
    it('is stale when the response is right, so the phone retries silently with a fresh nonce', async () => {
      const header = reply();
      clock.now += nonces.ttlMs + 1;
      expect(await verify(header)).toEqual({ ok: false, reason: 'stale' });
    });

    it('is a wrong password when the response is wrong: stale=true would invite a silent retry', async () => {
      const header = reply({ password: 'guess' });
      clock.now += nonces.ttlMs + 1;
      expect(await verify(header)).toEqual({ ok: false, reason: 'wrong-password' });
    });
  });

  describe('nonce counts', () => {
    it('accepts one nonce for several requests while nc increases, and refuses a replay', async () => {
      const nonce = nonces.issue();
      expect(await verify(reply({ nonce, nc: 1 }))).toMatchObject({ ok: true });
      expect(await verify(reply({ nonce, nc: 2 }))).toMatchObject({ ok: true });
      expect(await verify(reply({ nonce, nc: 2 }))).toEqual({ ok: false, reason: 'nc-reused' });
      expect(await verify(reply({ nonce, nc: 1, cnonce: 'fresh-cnonce' }))).toEqual({ ok: false, reason: 'nc-reused' });
      expect(await verify(reply({ nonce, nc: 3 }))).toMatchObject({ ok: true });
    });

    it('refuses the very same Authorization header captured and sent again', async () => {
      const captured = reply();
      expect(await verify(captured)).toMatchObject({ ok: true });
      expect(await verify(captured)).toEqual({ ok: false, reason: 'nc-reused' });
    });

    it('is not burnt by a request with a wrong response', async () => {
      const nonce = nonces.issue();
      expect(await verify(reply({ nonce, nc: 9, password: 'guess' }))).toEqual({ ok: false, reason: 'wrong-password' });
      expect(await verify(reply({ nonce, nc: 1 }))).toMatchObject({ ok: true });
    });
  });
});
