/**
 * The SIP bans under /api/sip/bans: which source addresses the SIP guard is dropping and
 * until when, and lifting one (which also forgets its earlier strikes and failures).
 */
import { isIP } from 'node:net';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GatewayError } from '../errors.js';
import type { SipBan } from '../store/sip-guard-store.js';
import { errorAnswer, storeUnavailable } from './schemas.js';

const banView = Type.Object(
  {
    address: Type.String({ description: 'the source IP address' }),
    bannedAt: Type.String({ description: 'ISO 8601' }),
    until: Type.String({ description: 'ISO 8601' }),
    failures: Type.Integer(),
    reason: Type.String(),
    strike: Type.Integer({ description: 'how many bans in a row: each one is longer' }),
  },
  { additionalProperties: false },
);

export interface SipBanRoutesOptions {
  readonly bans: {
    list(): Promise<SipBan[]>;
    /** false when the address had no ban running. */
    lift(address: string): Promise<boolean>;
  };
}

export const sipBanRoutes: FastifyPluginAsyncTypebox<SipBanRoutesOptions> = async (app, { bans }) => {
  app.get(
    '/sip/bans',
    {
      schema: {
        tags: ['SIP security'],
        summary: 'The source addresses the SIP guard drops now',
        response: {
          200: Type.Object({ bans: Type.Array(banView) }, { additionalProperties: false, description: 'soonest to end first' }),
          503: storeUnavailable,
        },
      },
    },
    async () => ({ bans: (await bans.list()).map(view) }),
  );

  app.delete(
    '/sip/bans/:address',
    {
      schema: {
        tags: ['SIP security'],
        summary: 'Lift a ban',
        description: "Also forgets the address's earlier strikes and failures.",
        params: Type.Object({ address: Type.String() }),
        response: {
          204: Type.Null({ description: 'lifted' }),
          400: errorAnswer('not an IPv4 or IPv6 address'),
          404: errorAnswer('the address is not banned'),
          503: storeUnavailable,
        },
      },
    },
    async (request, reply) => {
      const { address } = request.params;
      if (!isIP(address)) throw new GatewayError('bad_request', `"${address.slice(0, 64)}" is not an IPv4 or IPv6 address`);
      if (!(await bans.lift(address))) throw new GatewayError('not_found', `${address} is not banned`);
      return reply.code(204).send(null);
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
