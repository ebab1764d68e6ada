/**
 * Who may use the REST API: holders of the bearer token API_TOKEN, or, when no token is
 * configured, only clients on this machine's loopback.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { sameSecret } from '../same-secret.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function apiAuthHook(apiToken: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (apiToken === undefined) {
      if (!LOOPBACK.test(request.socket.remoteAddress ?? '')) {
        throw new GatewayError('forbidden', 'API_TOKEN is not set, so the API answers only on loopback');
      }
      return;
    }
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    if (!match) {
      void reply.header('www-authenticate', 'Bearer realm="api"');
      throw new GatewayError('unauthorized', 'missing bearer token (Authorization: Bearer <API_TOKEN>)');
    }
    if (!sameSecret(apiToken, match[1] ?? '')) {
      void reply.header('www-authenticate', 'Bearer realm="api", error="invalid_token"');
      throw new GatewayError('unauthorized', 'invalid bearer token');
    }
  };
}
