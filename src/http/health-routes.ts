import type { FastifyPluginAsync } from 'fastify';
import { type ReadinessCheck, checkReadiness } from './readiness.js';

const READINESS_TIMEOUT_MS = 2000;

export const healthRoutes: FastifyPluginAsync<{ readiness: readonly ReadinessCheck[] }> = async (app, { readiness }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const report = await checkReadiness(readiness, READINESS_TIMEOUT_MS);
    if (report.ready) return { status: 'ready', checks: report.checks };
    const down = Object.entries(report.checks)
      .filter(([, status]) => status !== 'ok')
      .map(([name, status]) => `${name}: ${status}`);
    return reply.code(503).send({ status: 'not ready', down, checks: report.checks });
  });
};
