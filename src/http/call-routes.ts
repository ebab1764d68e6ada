/** The call API under /api/calls: the live phone calls (this node's with their quality, the other nodes' from the store); hanging one up, muting one. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CallDirectory } from '../calls/call-views.js';
import { GatewayError } from '../errors.js';
import { errorAnswer, invalidRequest, storeUnavailable } from './schemas.js';

const directionFields = {
  lossRatio: Type.Number({ description: 'packets lost over the call so far, 0-1' }),
  jitterMs: Type.Number({ description: 'RFC 3550 interarrival jitter' }),
  mos: Type.Optional(Type.Number({ description: 'estimated MOS, 1-4.5 (ITU-T G.107 E-model, simplified); G.711 calls only' })),
  rFactor: Type.Optional(Type.Number({ description: 'the E-model R factor the MOS comes from' })),
  lost: Type.Integer(),
};

const qualityView = Type.Object(
  {
    codec: Type.String(),
    roundTripMs: Type.Optional(Type.Number({ description: 'RTCP round-trip time, once the phone echoed one of our sender reports' })),
    fromPhone: Type.Optional(Type.Object({ ...directionFields, packets: Type.Integer() }, { description: "the phone's audio as the gateway receives it: what the meeting hears" })),
    toPhone: Type.Optional(Type.Object(directionFields, { description: "the gateway's audio as the phone's last RTCP report says it arrived: what the caller hears" })),
    mosUnavailable: Type.Optional(Type.String({ description: 'why there is no MOS although there are statistics' })),
  },
  { description: 'the call quality, both directions (see the README, Call quality)' },
);

const callView = Type.Object(
  {
    callId: Type.String({ description: 'the SIP Call-ID' }),
    meetingId: Type.String(),
    nodeId: Type.String({ description: 'the gateway node that holds the call (with Redis, the calls of every node are listed)' }),
    viaNodeId: Type.Optional(
      Type.String({ description: 'the node that authenticated the call and proxied it to nodeId; its SIP server relays the dialog, and it waits for the call when it drains' }),
    ),
    caller: Type.Optional(Type.String({ description: 'as the meeting sees them: the From display name, a number masked to its last four digits' })),
    codec: Type.Optional(Type.String()),
    // A call listed while open can have begun closing by the time its view is made.
    state: Type.Enum(['setting-up', 'answered', 'closing', 'closed'], {
      type: 'string',
      description: 'setting-up or answered; closing or closed only for a call that ended while this answer was made',
    }),
    startedAt: Type.String({ description: 'ISO 8601' }),
    answeredAt: Type.Optional(Type.String({ description: 'ISO 8601' })),
    muted: Type.Optional(Type.Boolean({ description: "muted in the meeting, by the call API or the caller's *6 (hold aside); once answered" })),
    quality: Type.Optional(qualityView),
    dialOut: Type.Optional(
      Type.Object(
        {
          to: Type.String({ description: 'the SIP URI or number dialled' }),
          state: Type.Enum(['calling', 'ringing', 'answered', 'busy', 'no-answer', 'failed', 'cancelled', 'ended'], { type: 'string' }),
          sipStatus: Type.Optional(Type.Integer({ description: 'the final response that refused it' })),
          reason: Type.Optional(Type.String()),
        },
        { description: 'a call the meeting dialled (POST /api/meetings/:id/dial-out); readable for 10 minutes after it ended, with state closed' },
      ),
    ),
  },
  { description: 'a live phone call' },
);

const byCallId = Type.Object({ callId: Type.String({ minLength: 1 }) });

const unknownCallAnswer = errorAnswer('no live call of that id (never held, or ended)');

const heldElsewhere = errorAnswer('the call is held by another gateway node (its id in the message): only that node can act on it');

const unknownCall = (callId: string) => new GatewayError('not_found', `no live call "${callId}"`);

export const callRoutes: FastifyPluginAsyncTypebox<{ calls: CallDirectory }> = async (app, { calls }) => {
  app.get(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'The live phone calls',
        description: "This node's calls being set up or answered, with their quality; with Redis, the other nodes' answered calls too, as their records say (no muted flag, no quality).",
        response: { 200: Type.Object({ calls: Type.Array(callView) }, { description: 'being set up or answered' }), 503: storeUnavailable },
      },
    },
    async () => ({ calls: await calls.list() }),
  );

  app.get(
    '/calls/:callId',
    { schema: { tags: ['calls'], summary: 'One live call, with its quality', params: byCallId, response: { 200: callView, 400: invalidRequest, 404: unknownCallAnswer } } },
    async (request) => {
      const call = await calls.get(request.params.callId);
      if (!call) throw unknownCall(request.params.callId);
      return call;
    },
  );

  for (const [action, muted] of [['mute', true], ['unmute', false]] as const) {
    app.post(
      `/calls/:callId/${action}`,
      {
        schema: {
          tags: ['calls'],
          summary: muted ? 'Mute a caller in its meeting' : 'Unmute a caller in its meeting',
          description:
            "Server side: the caller's audio stops reaching the meeting (or reaches it again), the roster shows it, and the caller hears one beep when muted, two when unmuted. Asked again: the same answer and no tone.",
          params: byCallId,
          response: {
            200: callView,
            400: invalidRequest,
            404: unknownCallAnswer,
            409: errorAnswer("the call is not answered yet, or its media has not started (between the 200 OK and the caller's ACK), or another gateway node holds it"),
          },
        },
      },
      async (request) => {
        const call = await calls.setMuted(request.params.callId, muted);
        if (!call) throw unknownCall(request.params.callId);
        return call;
      },
    );
  }

  app.delete(
    '/calls/:callId',
    {
      schema: {
        tags: ['calls'],
        summary: 'Hang a call up',
        description: 'An answered call gets a BYE with Reason: Q.850;cause=16; one still being set up a 403 with a Warning.',
        params: byCallId,
        response: { 204: Type.Null({ description: 'the call has ended' }), 400: invalidRequest, 404: unknownCallAnswer, 409: heldElsewhere },
      },
    },
    async (request, reply) => {
      if (!(await calls.hangUp(request.params.callId))) throw unknownCall(request.params.callId);
      return reply.code(204).send(null);
    },
  );
};
