/**
 * The Fastify instance every route plugin is registered on, built the same way by the
 * gateway and by the tests. It owns only what all routes share: logging, body limits,
 * strict validation and the one mapping of errors to HTTP answers.
 */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MAX_FRAME_BYTES } from '../signaling/messages.js';

const CLIENT_ERROR_CODES: Partial<Record<number, string>> = {
  401: 'unauthorized',
  404: 'not_found',
  413: 'too_large',
  415: 'unsupported_media_type',
};

export async function buildHttpApp(log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown call logs; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Reject what does not match a schema instead of silently dropping or coercing it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => {
    if (error instanceof GatewayError) {
      return reply.code(error.httpStatus).send({ error: error.code, message: error.message });
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: CLIENT_ERROR_CODES[status] ?? 'bad_request', message: error.message });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );

  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
  return app;
}
