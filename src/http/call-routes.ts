/** The call API under /api/calls: the live phone calls of this node, with their quality; hanging one up, muting one. */
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
    state: { type: 'string', enum: ['setting-up', 'answered', 'closed'] },
    startedAt: { type: 'string' },
    answeredAt: { type: 'string' },
    muted: { type: 'boolean' },
    quality: qualityView,
    dialOut: {
      type: 'object',
      required: ['to', 'state'],
      properties: { to: { type: 'string' }, state: { type: 'string' }, sipStatus: { type: 'integer' }, reason: { type: 'string' } },
    },
  },
} as const;

const byCallId = { type: 'object', required: ['callId'], properties: { callId: { type: 'string', minLength: 1 } } } as const;

const unknownCall = (callId: string) => new GatewayError('not_found', `no live call "${callId}" on this node`);

export const callRoutes: FastifyPluginAsync<{ calls: CallDirectory }> = async (app, { calls }) => {
  app.get('/calls', { schema: { response: { 200: { type: 'object', required: ['calls'], properties: { calls: { type: 'array', items: callView } } } } } }, async () => ({
    calls: await calls.list(),
  }));

  app.get<{ Params: { callId: string } }>(
    '/calls/:callId',
    { schema: { params: byCallId, response: { 200: callView, 404: errorView } } },
    async (request) => {
      const call = await calls.get(request.params.callId);
      if (!call) throw unknownCall(request.params.callId);
      return call;
    },
  );

  for (const [action, muted] of [['mute', true], ['unmute', false]] as const) {
    app.post<{ Params: { callId: string } }>(
      `/calls/:callId/${action}`,
      { schema: { params: byCallId, response: { 200: callView, 404: errorView, 409: errorView } } },
      async (request) => {
        const call = await calls.setMuted(request.params.callId, muted);
        if (!call) throw unknownCall(request.params.callId);
        return call;
      },
    );
  }

  app.delete<{ Params: { callId: string } }>('/calls/:callId', { schema: { params: byCallId, response: { 404: errorView } } }, async (request, reply) => {
    if (!(await calls.hangUp(request.params.callId))) throw unknownCall(request.params.callId);
    return reply.code(204).send();
  });
};
