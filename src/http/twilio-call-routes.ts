/** GET /api/twilio/calls: recent Twilio calls and what became of them, newest first. */
import type { FastifyPluginAsync } from 'fastify';
import type { TwilioDialIn } from '../pstn/twilio-dial-in.js';
import { TWILIO_CALLS_KEPT, type TwilioCallRecord } from '../store/store.js';
import { errorView } from './schemas.js';

const callView = {
  type: 'object',
  additionalProperties: false,
  required: ['callSid', 'firstSeenAt', 'updatedAt'],
  properties: {
    callSid: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    meetingId: { type: 'string' },
    outcome: { type: 'string' },
    status: { type: 'string' },
    durationSeconds: { type: 'integer' },
    firstSeenAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

export const twilioCallRoutes: FastifyPluginAsync<{ dialIn: TwilioDialIn }> = async (app, { dialIn }) => {
  app.get<{ Querystring: { limit?: string } }>(
    '/twilio/calls',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' } },
        },
        response: { 200: { type: 'object', properties: { calls: { type: 'array', items: callView } } }, '4xx': errorView },
      },
    },
    async (request) => ({
      calls: (await dialIn.recentCalls(Math.min(Number(request.query.limit ?? 100), TWILIO_CALLS_KEPT))).map(view),
    }),
  );
};

function view(call: TwilioCallRecord) {
  return { ...call, firstSeenAt: new Date(call.firstSeenAt).toISOString(), updatedAt: new Date(call.updatedAt).toISOString() };
}
