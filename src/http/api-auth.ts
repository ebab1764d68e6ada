/**
 * Who may use the REST API (and /metrics): holders of the bearer token (API_TOKEN,
 * METRICS_TOKEN), or, when no token is configured, only clients on this machine's loopback.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { sameSecret } from '../same-secret.js';
import { documentGuard, errorAnswer } from './schemas.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

interface BearerGuard {
  /** The token; undefined: loopback only. */
  readonly token: string | undefined;
  /** The configuration key that sets it, named in the answers. */
  readonly variable: string;
  /** What it guards, as the answers say ("the API"). */
  readonly guarded: string;
  readonly realm: string;
  /** Its security scheme in the API document. */
  readonly scheme: 'apiToken' | 'metricsToken';
}

/** Guards every route `scope` registers from now on, and says so in the API document. */
export function requireBearerToken(scope: FastifyInstance, guard: BearerGuard): void {
  scope.addHook(
    'onRoute',
    documentGuard(guard.scheme, {
      401: errorAnswer(`${guard.variable} is set and the request has no bearer token, or another one`),
      403: errorAnswer(`${guard.variable} is not set and the request did not come from loopback`),
    }),
  );
  scope.addHook('onRequest', bearerAuthHook(guard));
}

function bearerAuthHook({ token, variable, guarded, realm }: BearerGuard) {
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

export function requireApiToken(scope: FastifyInstance, apiToken: string | undefined): void {
  requireBearerToken(scope, { token: apiToken, variable: 'API_TOKEN', guarded: 'the API', realm: 'api', scheme: 'apiToken' });
}
