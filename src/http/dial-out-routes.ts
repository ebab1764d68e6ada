/** POST /api/meetings/:id/dial-out: the meeting calls a SIP address; the call's progress is then at GET /api/calls/:callId. */
import type { FastifyPluginAsync } from 'fastify';
import type { DialOutRequest, DialOutService } from '../calls/dial-outs.js';
import { errorView } from './schemas.js';

const byId = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string' } },
} as const;

const dialOutBody = {
  type: 'object',
  required: ['to'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 256 },
    trunk: { type: 'string', minLength: 1, maxLength: 64 },
    displayName: { type: 'string', minLength: 1, maxLength: 64 },
    timeoutSeconds: { type: 'integer', minimum: 5, maximum: 300 },
  },
} as const;

export interface DialOutRoutesOptions {
  readonly dialOut: DialOutService;
}

export const dialOutRoutes: FastifyPluginAsync<DialOutRoutesOptions> = async (app, { dialOut }) => {
  app.post<{ Params: { id: string }; Body: DialOutRequest }>(
    '/meetings/:id/dial-out',
    {
      schema: {
        params: byId,
        body: dialOutBody,
        response: { 202: { type: 'object', required: ['callId'], properties: { callId: { type: 'string' } } }, '4xx': errorView },
      },
    },
    async (request, reply) => reply.code(202).send(await dialOut.dial(request.params.id, request.body)),
  );
};
