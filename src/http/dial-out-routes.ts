/** POST /api/meetings/:id/dial-out: the meeting calls a SIP address or a number through a trunk; the call's progress is then at GET /api/calls/:callId. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DialOutService } from '../calls/dial-outs.js';
import { errorAnswer, invalidRequest, storeUnavailable } from './schemas.js';

export interface DialOutRoutesOptions {
  readonly dialOut: DialOutService;
}

export const dialOutRoutes: FastifyPluginAsyncTypebox<DialOutRoutesOptions> = async (app, { dialOut }) => {
  app.post(
    '/meetings/:id/dial-out',
    {
      schema: {
        tags: ['calls'],
        summary: 'Call a phone from the meeting',
        description:
          'Sends an INVITE with our offer; the callee who answers is a phone participant of the meeting. Its progress (calling, ringing, answered, busy, no-answer, failed, cancelled, ended) is in GET /api/calls/:callId and in dialOut notifications on the signaling socket.',
        params: Type.Object({ id: Type.String() }),
        body: Type.Object(
          {
            to: Type.String({ minLength: 1, maxLength: 256, description: 'sip:user@host[:port][;transport=udp|tcp|tls] or sips:user@host[:port]; through a trunk, a number (digits, an optional leading +)' }),
            trunk: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the trunk (its id) the number is dialled through' })),
            displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'how the callee appears in the meeting; from `to` when absent' })),
            timeoutSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 300, description: 'how long it may ring before it is cancelled as no-answer (default 60)' })),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ callId: Type.String({ description: 'the SIP Call-ID of our INVITE' }) }, { description: 'the INVITE is on its way' }),
          400: invalidRequest,
          403: errorAnswer("the number starts with none of the trunk's allowed prefixes"),
          404: errorAnswer('no meeting, or no trunk, of that id'),
          409: errorAnswer('the meeting has ended, or is full'),
          503: Type.Union([storeUnavailable, errorAnswer('the node drains or sheds load, or has no free RTP port')]),
        },
      },
    },
    async (request, reply) => reply.code(202).send(await dialOut.dial(request.params.id, request.body)),
  );
};
