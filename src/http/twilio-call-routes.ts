/** GET /api/twilio/calls: recent Twilio calls and what became of them, newest first. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { TwilioDialIn } from '../pstn/twilio-dial-in.js';
import { TWILIO_CALLS_KEPT, type TwilioCallRecord } from '../store/store.js';
import { invalidRequest, storeUnavailable } from './schemas.js';

const callView = Type.Object(
  {
    callSid: Type.String(),
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    meetingId: Type.Optional(Type.String()),
    outcome: Type.Optional(Type.String({ description: 'dialed, not-connected, meeting-ended, too-many-wrong-entries, locked-out' })),
    status: Type.Optional(Type.String({ description: "Twilio's CallStatus from the status callback" })),
    durationSeconds: Type.Optional(Type.Integer()),
    firstSeenAt: Type.String({ description: 'ISO 8601' }),
    updatedAt: Type.String({ description: 'ISO 8601' }),
  },
  { additionalProperties: false },
);

export const twilioCallRoutes: FastifyPluginAsyncTypebox<{ dialIn: TwilioDialIn }> = async (app, { dialIn }) => {
  app.get(
    '/twilio/calls',
    {
      schema: {
        tags: ['PSTN'],
        summary: 'Recent Twilio calls and what became of them',
        querystring: Type.Object(
          { limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: `how many, newest first: default 100, at most ${TWILIO_CALLS_KEPT} are kept` })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ calls: Type.Array(callView) }, { description: 'newest first' }), 400: invalidRequest, 503: storeUnavailable },
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
