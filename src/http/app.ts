/**
 * The Fastify application, built the same way by main and by the tests. Routes arrive
 * as plugins; this file owns only what every route shares (logging, error mapping).
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { healthRoutes } from './health-routes.js';
import type { ReadinessCheck } from './readiness.js';

export interface HttpAppDeps {
  readonly log: Logger;
  readonly readiness: readonly ReadinessCheck[];
}

export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 64 * 1024,
  });

  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => {
    if (error instanceof GatewayError) {
      return reply.code(error.httpStatus).send({ error: error.code, message: error.message });
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'bad_request', message: error.message });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );

  await app.register(healthRoutes, { readiness: deps.readiness });
  return app;
}
