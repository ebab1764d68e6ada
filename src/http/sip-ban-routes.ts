/**
 * The SIP bans under /api/sip/bans: which source addresses the SIP guard is dropping and
 * until when, and lifting one (which also forgets its earlier strikes and failures).
 */
import { isIP } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { GatewayError } from '../errors.js';
import type { SipBan } from '../store/sip-guard-store.js';
import { errorView } from './schemas.js';

const banView = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'bannedAt', 'until', 'failures', 'reason', 'strike'],
  properties: {
    address: { type: 'string' },
    bannedAt: { type: 'string' },
    until: { type: 'string' },
    failures: { type: 'integer' },
    reason: { type: 'string' },
    strike: { type: 'integer' },
  },
} as const;

export interface SipBanRoutesOptions {
  readonly bans: {
    list(): Promise<SipBan[]>;
    /** false when the address had no ban running. */
    lift(address: string): Promise<boolean>;
  };
}

export const sipBanRoutes: FastifyPluginAsync<SipBanRoutesOptions> = async (app, { bans }) => {
  app.get(
    '/sip/bans',
    {
      schema: {
        response: { 200: { type: 'object', additionalProperties: false, required: ['bans'], properties: { bans: { type: 'array', items: banView } } }, '5xx': errorView },
      },
    },
    async () => ({ bans: (await bans.list()).map(view) }),
  );

  app.delete<{ Params: { address: string } }>(
    '/sip/bans/:address',
    {
      schema: {
        params: { type: 'object', required: ['address'], properties: { address: { type: 'string' } } },
        response: { 204: { type: 'null' }, '4xx': errorView, '5xx': errorView },
      },
    },
    async (request, reply) => {
      const { address } = request.params;
      if (!isIP(address)) throw new GatewayError('bad_request', `"${address.slice(0, 64)}" is not an IPv4 or IPv6 address`);
      if (!(await bans.lift(address))) throw new GatewayError('not_found', `${address} is not banned`);
      return reply.code(204).send();
    },
  );
};

function view(ban: SipBan) {
  return {
    address: ban.address,
    bannedAt: new Date(ban.bannedAt).toISOString(),
    until: new Date(ban.until).toISOString(),
    failures: ban.failures,
    reason: ban.reason,
    strike: ban.strike,
  };
}
