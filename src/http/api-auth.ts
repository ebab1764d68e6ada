/**
 * Who may use the REST API (and /metrics): holders of the bearer token (API_TOKEN,
 * METRICS_TOKEN), or, when no token is configured, only clients on this machine's loopback.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { sameSecret } from '../same-secret.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export interface BearerGuard {
  /** The token; undefined: loopback only. */
  readonly token: string | undefined;
  /** The configuration key that sets it, named in the answers. */
  readonly variable: string;
  /** What it guards, as the answers say ("the API"). */
  readonly guarded: string;
  readonly realm: string;
}

export function bearerAuthHook({ token, variable, guarded, realm }: BearerGuard) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (token === undefined) {
      if (!LOOPBACK.test(request.socket.remoteAddress ?? '')) {
        throw new GatewayError('forbidden', `${variable} is not set, so ${guarded} answers only on loopback`);
      }
      return;
    }
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    if (!match) {
      void reply.header('www-authenticate', `Bearer realm="${realm}"`);
      throw new GatewayError('unauthorized', `missing bearer token (Authorization: Bearer <${variable}>)`);
    }
    if (!sameSecret(token, match[1] ?? '')) {
      void reply.header('www-authenticate', `Bearer realm="${realm}", error="invalid_token"`);
      throw new GatewayError('unauthorized', 'invalid bearer token');
    }
  };
}

export function apiAuthHook(apiToken: string | undefined) {
  return bearerAuthHook({ token: apiToken, variable: 'API_TOKEN', guarded: 'the API', realm: 'api' });
}
