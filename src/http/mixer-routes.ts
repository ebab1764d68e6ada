/**
 * GET /api/mixer: how the phones' mixers keep time on this node, over all media threads
 * (and, where there are threads, each on its own). Tick lateness is what phones hear as
 * gaps, so operators (and the benchmarks) watch it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MixerClockStats } from '../media/mixer/mixer-clock.js';

/** The media plane, or a single mixer clock. */
export interface MixerStatsSource {
  stats(): MixerClockStats | Promise<MixerClockStats & { threads?: ReadonlyArray<MixerClockStats & { ports: number }> }>;
}

const clockFields = {
  mixers: Type.Integer({ description: 'meetings with phones mixing' }),
  ticks: Type.Integer({ description: '20 ms ticks of the last 10 s' }),
  latenessP50Ms: Type.Number(),
  latenessP99Ms: Type.Number(),
  latenessMaxMs: Type.Number(),
};

const statsView = Type.Object(
  {
    ...clockFields,
    threads: Type.Optional(
      Type.ReadonlyObject(
        Type.Array(Type.Object({ ...clockFields, ports: Type.Integer({ description: "phones' RTP ports open on the thread" }) }, { additionalProperties: false }), {
          description: 'each media thread, where there are threads',
        }),
      ),
    ),
  },
  { additionalProperties: false, description: "how late the mixers' ticks ran over the last 10 s" },
);

export const mixerRoutes: FastifyPluginAsyncTypebox<{ source: MixerStatsSource }> = async (app, { source }) => {
  app.get(
    '/mixer',
    { schema: { tags: ['operations'], summary: "How the phones' mixers keep time on this node", response: { 200: statsView } } },
    async () => source.stats(),
  );
};
