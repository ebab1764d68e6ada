/** The call API under /api/calls: the live phone calls of this node, with their quality. */
import type { FastifyPluginAsync } from 'fastify';
import type { CallDirectory } from '../calls/call-views.js';
import { GatewayError } from '../errors.js';
import { errorView } from './schemas.js';

const directionProperties = {
  lossRatio: { type: 'number' },
  jitterMs: { type: 'number' },
  mos: { type: 'number' },
  rFactor: { type: 'number' },
  lost: { type: 'integer' },
} as const;

const qualityView = {
  type: 'object',
  required: ['codec'],
  properties: {
    codec: { type: 'string' },
    roundTripMs: { type: 'number' },
    fromPhone: {
      type: 'object',
      required: ['lossRatio', 'jitterMs', 'packets', 'lost'],
      properties: { ...directionProperties, packets: { type: 'integer' } },
    },
    toPhone: { type: 'object', required: ['lossRatio', 'jitterMs', 'lost'], properties: directionProperties },
    mosUnavailable: { type: 'string' },
  },
} as const;

const callView = {
  type: 'object',
  required: ['callId', 'meetingId', 'state', 'startedAt'],
  properties: {
    callId: { type: 'string' },
    meetingId: { type: 'string' },
    caller: { type: 'string' },
    codec: { type: 'string' },
    state: { type: 'string', enum: ['setting-up', 'answered'] },
    startedAt: { type: 'string' },
    answeredAt: { type: 'string' },
    quality: qualityView,
  },
} as const;

export const callRoutes: FastifyPluginAsync<{ calls: CallDirectory }> = async (app, { calls }) => {
  app.get('/calls', { schema: { response: { 200: { type: 'object', required: ['calls'], properties: { calls: { type: 'array', items: callView } } } } } }, async () => ({
    calls: await calls.list(),
  }));

  app.get<{ Params: { callId: string } }>(
    '/calls/:callId',
    { schema: { params: { type: 'object', required: ['callId'], properties: { callId: { type: 'string', minLength: 1 } } }, response: { 200: callView, 404: errorView } } },
    async (request) => {
      const call = await calls.get(request.params.callId);
      if (!call) throw new GatewayError('not_found', `no live call "${request.params.callId}" on this node`);
      return call;
    },
  );
};
