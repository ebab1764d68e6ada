/**
 * GET /api/mixer: how the phones' mixers keep time on this node, over all media threads
 * (and, where there are threads, each on its own). Tick lateness is what phones hear as
 * gaps, so operators (and the benchmarks) watch it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MixerClockStats } from '../media/mixer/mixer-clock.js';

/** The media plane, or a single mixer clock. */
export interface MixerStatsSource {
  stats(): MixerClockStats | Promise<MixerClockStats & { threads?: ReadonlyArray<MixerClockStats & { ports: number }> }>;
}

const clockView = {
  mixers: { type: 'integer' },
  ticks: { type: 'integer' },
  latenessP50Ms: { type: 'number' },
  latenessP99Ms: { type: 'number' },
  latenessMaxMs: { type: 'number' },
} as const;

const statsView = {
  type: 'object',
  additionalProperties: false,
  required: ['mixers', 'ticks', 'latenessP50Ms', 'latenessP99Ms', 'latenessMaxMs'],
  properties: {
    ...clockView,
    threads: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['mixers', 'ticks', 'latenessP50Ms', 'latenessP99Ms', 'latenessMaxMs', 'ports'],
        properties: { ...clockView, ports: { type: 'integer' } },
      },
    },
  },
} as const;

export const mixerRoutes: FastifyPluginAsync<{ source: MixerStatsSource }> = async (app, { source }) => {
  app.get('/mixer', { schema: { response: { 200: statsView } } }, async () => source.stats());
};
