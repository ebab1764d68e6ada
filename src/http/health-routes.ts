import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { type ReadinessCheck, checkReadiness } from './readiness.js';

const READINESS_TIMEOUT_MS = 2000;

const checks = Type.Record(Type.String(), Type.String(), { description: "each component's state: ok, or why not" });

export const healthRoutes: FastifyPluginAsyncTypebox<{ readiness: readonly ReadinessCheck[] }> = async (app, { readiness }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'the process is up' }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the node takes new calls',
        description:
          "Ready when the store answers, every mediasoup worker runs, the SIP front end is connected and the node is neither draining nor overloaded. `trunks` shows each registering trunk's state; a trunk that failed to register is shown there but does not make the node unready.",
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks }, { description: 'ready for new calls' }),
          503: Type.Object(
            { status: Type.Literal('not ready'), down: Type.Array(Type.String(), { description: '"component: why" for each component not ok' }), checks },
            { description: 'not ready: down names each component and why' },
          ),
        },
      },
    },
    async (_request, reply) => {
      const report = await checkReadiness(readiness, READINESS_TIMEOUT_MS);
      if (report.ready) return { status: 'ready' as const, checks: report.checks };
      return reply.code(503).send({ status: 'not ready', down: report.down, checks: report.checks });
    },
  );
};
