/**
 * Properties of the SDP code over generated bodies (test/support/fuzz/sdp-bodies.ts): an
 * offer is answered with SDP we can read back, or refused with an SdpError (400, or 488
 * with its Warning); an answer to our own offer is taken or refused the same way. Nothing
 * else escapes, and no body takes long.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareAnswer } from '../../../src/media/sdp/answer-offer.js';
import { acceptAnswer, createOffer } from '../../../src/media/sdp/late-offer.js';
import { SdpError } from '../../../src/media/sdp/sdp-error.js';
import { readSdp } from '../../../src/media/sdp/sdp-reader.js';
import { FUZZ_RUNS, FUZZ_SEED, SLOW_CASE_MS } from '../../support/fuzz/fuzz-settings.js';
import { sdpBody } from '../../support/fuzz/sdp-bodies.js';

const LOCAL = { ip: '203.0.113.7', port: 40000 };
const options = { seed: FUZZ_SEED, numRuns: FUZZ_RUNS.unit };

/** The refusal a call would answer with: a 400 without Warning, or a 488 with one. */
function expectDefinedRefusal(err: unknown): void {
  expect(err).toBeInstanceOf(SdpError);
  const refusal = err as SdpError;
  expect(refusal.message).not.toBe('');
  expect([400, 488]).toContain(refusal.sipStatus);
  if (refusal.sipStatus === 488) expect(refusal.warning('gw.example.com')).toMatch(/^30[2-5] gw\.example\.com "/);
  else expect(refusal.warning('gw.example.com')).toBeUndefined();
}

function timed<T>(run: () => T): T {
  const started = performance.now();
  try {
    return run();
  } finally {
    expect(performance.now() - started).toBeLessThan(SLOW_CASE_MS);
  }
}

describe('generated SDP', () => {
  it('as an offer: answered with readable SDP that keeps every m= line and takes one, or refused 400/488', () => {
    fc.assert(
      fc.property(sdpBody, (offer) => {
        let answer: string;
        try {
          answer = timed(() => prepareAnswer(offer, LOCAL).answer(LOCAL.port).sdp);
        } catch (err) {
          expectDefinedRefusal(err);
          return;
        }
        const offered = readSdp(offer);
        const answered = readSdp(answer);
        expect(answered).toHaveLength(offered.length);
        expect(answered.filter((line) => line.port !== 0)).toHaveLength(1);
        expect(answered.find((line) => line.port !== 0)?.port).toBe(LOCAL.port);
      }),
      options,
    );
  });

  it('as the answer to our offer: taken or refused 400/488', () => {
    const offer = createOffer(LOCAL);
    fc.assert(
      fc.property(sdpBody, (answer) => {
        try {
          const negotiated = timed(() => acceptAnswer(offer, answer));
          expect(offer.codecs.some((c) => c.payloadType === negotiated.codec.payloadType)).toBe(true);
        } catch (err) {
          expectDefinedRefusal(err);
        }
      }),
      options,
    );
  });
});
