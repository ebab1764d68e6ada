/**
 * Properties of the HTTP side over generated requests (test/support/fuzz/rest-requests.ts),
 * injected into the app over in-memory parts: no request gets a 5xx, every 4xx is a JSON
 * `{error, message}`, no answer takes long and no prototype is polluted.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { memoryApp } from '../support/app.js';
import { FUZZ_RUNS, FUZZ_SEED, SLOW_CASE_MS } from '../support/fuzz/fuzz-settings.js';
import { restAnswerProblem, restRequest } from '../support/fuzz/rest-requests.js';

const { deps, meetings } = memoryApp({ TWILIO_AUTH_TOKEN: 'twilio-token-0123456789', PUBLIC_URL: 'https://meet.example.com' });
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp(deps);
  await meetings.create({ id: 'fuzz-room' });
});

afterAll(async () => {
  await app.close();
});

describe('generated HTTP requests', () => {
  it('get a defined answer: never a 5xx, every 4xx a JSON error with a message', async () => {
    await fc.assert(
      fc.asyncProperty(restRequest, async (request) => {
        const started = performance.now();
        const response = await app.inject({
          method: request.method,
          url: request.url,
          headers: request.contentType === undefined ? {} : { 'content-type': request.contentType },
          ...(request.body === undefined ? {} : { payload: typeof request.body === 'string' ? request.body : Buffer.from(request.body) }),
        });
        expect(performance.now() - started).toBeLessThan(SLOW_CASE_MS);
        const contentType = response.headers['content-type'];
        expect(restAnswerProblem(request.method, request.url, response.statusCode, typeof contentType === 'string' ? contentType : undefined, response.body)).toBeUndefined();
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS.unit },
    );
  });
});
