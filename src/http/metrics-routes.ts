/**
 * GET /metrics: the node's Prometheus metrics in the text exposition format, for
 * holders of METRICS_TOKEN, or on loopback only when it is not set (metrics tell an
 * outsider how busy the node is and how its calls sound).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { bearerAuthHook } from './api-auth.js';

export interface MetricsRoutesOptions {
  readonly metrics: GatewayMetrics;
  readonly token: string | undefined;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { metrics, token }) => {
  app.addHook('onRequest', bearerAuthHook({ token, variable: 'METRICS_TOKEN', guarded: '/metrics', realm: 'metrics' }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
};
