/**
 * GET /api/mixer: how the phones' mixer keeps time on this node. Tick lateness is what
 * phones hear as gaps, so operators (and the benchmarks) watch it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MixerClock } from '../media/mixer/mixer-clock.js';

const statsView = {
  type: 'object',
  additionalProperties: false,
  required: ['mixers', 'ticks', 'latenessP50Ms', 'latenessP99Ms', 'latenessMaxMs'],
  properties: {
    mixers: { type: 'integer' },
    ticks: { type: 'integer' },
    latenessP50Ms: { type: 'number' },
    latenessP99Ms: { type: 'number' },
    latenessMaxMs: { type: 'number' },
  },
} as const;

export const mixerRoutes: FastifyPluginAsync<{ clock: MixerClock }> = async (app, { clock }) => {
  app.get('/mixer', { schema: { response: { 200: statsView } } }, async () => clock.stats());
};
