import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_NONCE_TTL_MS, NonceIssuer } from '../../../src/sip/digest/nonce-issuer.js';

const SECRET = 'deployment-wide nonce secret 0123';
const REALM = 'sip.example.com';

function issuerAt(clock: { now: number }, overrides: Partial<ConstructorParameters<typeof NonceIssuer>[0]> = {}) {
  return new NonceIssuer({ secret: SECRET, realm: REALM, now: () => clock.now, ...overrides });
}

describe('NonceIssuer', () => {
  it('issues unpredictable, URL-safe nonces', () => {
    const issuer = issuerAt({ now: 1_700_000_000_000 });
    const nonces = new Set(Array.from({ length: 1000 }, () => issuer.issue()));
    expect(nonces.size).toBe(1000);
    for (const nonce of nonces) expect(nonce).toMatch(/^[A-Za-z0-9_-]{75}$/);
  });

  it('lets another node holding the same secret verify a nonce without shared state', () => {
    const clock = { now: 1_700_000_000_000 };
    const nonce = issuerAt(clock).issue();
    expect(issuerAt(clock).check(nonce)).toBe('valid');
    expect(issuerAt(clock, { secret: Buffer.from(SECRET) }).check(nonce)).toBe('valid');
  });

  it.each([
    ['after 299.999 s', DEFAULT_NONCE_TTL_MS - 1, 'valid'],
    ['at exactly 300 s', DEFAULT_NONCE_TTL_MS, 'valid'],
    ['after 300.001 s', DEFAULT_NONCE_TTL_MS + 1, 'stale'],
    ['a day later', 86_400_000, 'stale'],
    ['4 s "before" it was issued (another node\'s clock)', -4_000, 'valid'],
    ['a minute before it was issued', -60_000, 'stale'],
  ])('reports a nonce checked %s as %s', (_when, elapsedMs, state) => {
    const clock = { now: 1_700_000_000_000 };
    const issuer = issuerAt(clock);
    const nonce = issuer.issue();
    clock.now += elapsedMs;
    expect(issuer.check(nonce)).toBe(state);
  });

  it('honours a configured lifetime', () => {
    const clock = { now: 1_700_000_000_000 };
    const issuer = issuerAt(clock, { ttlMs: 30_000 });
    const nonce = issuer.issue();
    clock.now += 30_001;
    expect(issuer.ttlMs).toBe(30_000);
    expect(issuer.check(nonce)).toBe('stale');
  });

  const clock = { now: 1_700_000_000_000 };
  const genuine = issuerAt(clock).issue();
  const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  /** Toggles the lowest bit of the character at `at`. */
  const flip = (nonce: string, at: number) =>
    nonce.slice(0, at) + BASE64URL[BASE64URL.indexOf(nonce[at]!) ^ 1] + nonce.slice(at + 1);
  it.each([
    ['made with another secret', issuerAt(clock, { secret: 'some other secret, 32 characters' }).issue()],
    ['made for another realm', issuerAt(clock, { realm: 'other.example.com' }).issue()],
    ['with its timestamp changed (extended lifetime)', flip(genuine, 5)],
    ['with its random part changed', flip(genuine, 20)],
    ['with its MAC changed', flip(genuine, 60)],
    // 56 bytes fill 74⅔ characters: the last one's lowest bits are padding Buffer ignores.
    ['in a non-canonical spelling (a padding bit set)', flip(genuine, 74)],
    ['truncated', genuine.slice(0, -4)],
    ['with padding appended', `${genuine}=`],
    ['with a character outside base64url', `${genuine.slice(0, -1)}+`],
    ['empty', ''],
    ['the RFC 7616 example nonce', '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v'],
    ['huge', 'A'.repeat(100_000)],
  ])('rejects a nonce %s as invalid', (_what, nonce) => {
    expect(issuerAt(clock).check(nonce)).toBe('invalid');
  });

  it('keeps its secret out of logs, inspection and JSON', () => {
    const issuer = issuerAt({ now: 0 });
    expect(inspect(issuer, { showHidden: true, depth: 10 })).not.toContain(SECRET);
    expect(JSON.stringify(issuer)).not.toContain(SECRET);
  });

  it.each([
    ['a secret shorter than 16 bytes', { secret: 'too short' }, /at least 16 bytes/],
    ['a zero lifetime', { ttlMs: 0 }, /positive integer/],
    ['a fractional lifetime', { ttlMs: 1.5 }, /positive integer/],
  ])('refuses %s without echoing the secret', (_what, overrides, message) => {
    expect(() => issuerAt({ now: 0 }, overrides)).toThrow(message);
    expect(() => issuerAt({ now: 0 }, overrides)).not.toThrow(/too short/);
  });
});
