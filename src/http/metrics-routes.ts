/**
 * GET /metrics: the node's Prometheus metrics in the text exposition format, for
 * holders of METRICS_TOKEN, or on loopback only when it is not set (metrics tell an
 * outsider how busy the node is and how its calls sound).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { requireBearerToken } from './api-auth.js';

export interface MetricsRoutesOptions {
  readonly metrics: GatewayMetrics;
  readonly token: string | undefined;
}

export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, { metrics, token }) => {
  requireBearerToken(app, { token, variable: 'METRICS_TOKEN', guarded: '/metrics', realm: 'metrics', scheme: 'metricsToken' });
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: "The node's Prometheus metrics",
        description: 'Every name prefixed gateway_; the README lists them.',
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()),
  );
};
