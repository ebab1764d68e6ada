/**
 * POST /api/admin/drain: takes this node out of service without cutting calls (what
 * SIGTERM does): new calls are refused, live ones go on for at most DRAIN_SECONDS, then
 * the gateway closes and the process exits. Asking again only reports the drain.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DrainStatus } from '../drain.js';

const drainView = {
  type: 'object',
  additionalProperties: false,
  required: ['state', 'startedAt', 'deadline', 'setupsInFlight', 'calls', 'participants'],
  properties: {
    state: { type: 'string', enum: ['draining'] },
    startedAt: { type: 'string' },
    deadline: { type: 'string' },
    setupsInFlight: { type: 'integer' },
    calls: { type: 'integer' },
    participants: { type: 'integer' },
  },
} as const;

export const adminRoutes: FastifyPluginAsync<{ drain: () => DrainStatus }> = async (app, { drain }) => {
  app.post('/admin/drain', { schema: { response: { 202: drainView } } }, async (_request, reply) => reply.code(202).send(drain()));
};
