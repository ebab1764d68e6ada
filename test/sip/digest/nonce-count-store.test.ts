import { describe, expect, it } from 'vitest';
import { MemoryNonceCountStore } from '../../../src/sip/digest/nonce-count-store.js';

const TTL = 300_000;

describe('MemoryNonceCountStore', () => {
  it.each([
    ['strictly increasing counts', [1, 2, 3, 10], [true, true, true, true]],
    ['a replayed count', [1, 1], [true, false]],
    ['a count that goes backwards', [1, 5, 3, 6], [true, true, false, true]],
    ['a first count above 1 (an earlier request was lost)', [4, 5], [true, true]],
  ])('accepts only %s', async (_what, counts, expected) => {
    const store = new MemoryNonceCountStore();
    const results: boolean[] = [];
    for (const nc of counts) results.push(await store.claim('nonce-a', nc, TTL));
    expect(results).toEqual(expected);
  });

  it('counts each nonce separately', async () => {
    const store = new MemoryNonceCountStore();
    expect(await store.claim('nonce-a', 1, TTL)).toBe(true);
    expect(await store.claim('nonce-b', 1, TTL)).toBe(true);
    expect(await store.claim('nonce-a', 1, TTL)).toBe(false);
  });

  it('forgets a nonce ttl after its last claim', async () => {
    const clock = { now: 0 };
    const store = new MemoryNonceCountStore({ now: () => clock.now });
    await store.claim('nonce-a', 5, TTL);
    clock.now += TTL - 1;
    expect(await store.claim('nonce-a', 5, TTL)).toBe(false);
    expect(await store.claim('nonce-a', 6, TTL)).toBe(true); // extends to now + TTL
    clock.now += TTL;
    expect(await store.claim('nonce-a', 1, TTL)).toBe(true);
  });

  it('sweeps expired nonces, so it stays bounded however many callers come and go', async () => {
    const clock = { now: 0 };
    const store = new MemoryNonceCountStore({ now: () => clock.now, maxNonces: 3, sweepIntervalMs: 1_000 });
    for (const nonce of ['a', 'b', 'c']) expect(await store.claim(nonce, 1, TTL)).toBe(true);
    // Full: a fourth live nonce is refused (fail closed: the caller gets a fresh challenge).
    expect(await store.claim('d', 1, TTL)).toBe(false);
    // Known nonces keep working while full.
    expect(await store.claim('a', 2, TTL)).toBe(true);
    clock.now += TTL;
    for (const nonce of ['d', 'e', 'f']) expect(await store.claim(nonce, 1, TTL)).toBe(true);
    expect(await store.claim('g', 1, TTL)).toBe(false);
  });
});
