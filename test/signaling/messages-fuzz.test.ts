/**
 * Properties of signaling frame validation (src/signaling/messages.ts) over generated frames
 * (test/support/fuzz/signaling-frames.ts): every frame is a well-formed request of a known
 * method or a bad_request naming what is wrong; nothing else escapes, nothing is polluted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { parseRequest } from '../../src/signaling/messages.js';
import { FUZZ_RUNS, FUZZ_SEED, SLOW_CASE_MS } from '../support/fuzz/fuzz-settings.js';
import { signalingFrame } from '../support/fuzz/signaling-frames.js';

const METHODS = ['getRouterRtpCapabilities', 'join', 'createTransport', 'connectTransport', 'produce', 'consume', 'resume', 'mute', 'leave', 'dialOut'];

describe('generated signaling frames', () => {
  it('are a valid request or a bad_request with a reason, quickly, and pollute no prototype', () => {
    fc.assert(
      fc.property(signalingFrame, (frame) => {
        const text = frame.kind === 'text' ? frame.text : Buffer.from(frame.data).toString('utf8');
        const started = performance.now();
        try {
          const request = parseRequest(text);
          expect(request.v).toBe(1);
          expect(Number.isSafeInteger(request.id) && request.id >= 0).toBe(true);
          expect(METHODS).toContain(request.method);
          expect(typeof request.data).toBe('object');
        } catch (err) {
          expect(err).toBeInstanceOf(GatewayError);
          expect((err as GatewayError).code).toBe('bad_request');
          expect((err as GatewayError).message).not.toBe('');
        }
        expect(performance.now() - started).toBeLessThan(SLOW_CASE_MS);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS.unit },
    );
  });
});
