/**
 * POST /api/admin/drain: takes this node out of service without cutting calls (what
 * SIGTERM does): new calls are refused, live ones go on for at most DRAIN_SECONDS, then
 * the gateway closes and the process exits. Asking again only reports the drain.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DrainStatus } from '../drain.js';

const drainView = Type.Object(
  {
    state: Type.Literal('draining'),
    startedAt: Type.String({ description: 'ISO 8601' }),
    deadline: Type.String({ description: 'when whatever is still live is ended (ISO 8601)' }),
    setupsInFlight: Type.Integer(),
    calls: Type.Integer(),
    participants: Type.Integer(),
    relayedCalls: Type.Integer({ description: "calls this node proxied to the meeting's node that are still live there (its SIP server relays them), as last counted" }),
  },
  { additionalProperties: false, description: 'the drain, started now or earlier (then with the same startedAt and deadline)' },
);

export const adminRoutes: FastifyPluginAsyncTypebox<{ drain: () => DrainStatus }> = async (app, { drain }) => {
  app.post(
    '/admin/drain',
    {
      schema: {
        tags: ['operations'],
        summary: 'Drain this node, as SIGTERM does',
        description: 'New calls are refused; live ones go on for at most DRAIN_SECONDS, then the gateway closes and the process exits.',
        response: { 202: drainView },
      },
    },
    async (_request, reply) => reply.code(202).send(drain()),
  );
};
