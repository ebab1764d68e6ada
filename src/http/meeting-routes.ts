/** The meetings REST API under /api/meetings, and removing a participant from one. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GatewayError } from '../errors.js';
import type { MeetingPlacement } from '../cluster/meeting-ownership.js';
import type { Rooms } from '../media/rooms.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import { errorAnswer, invalidRequest, storeUnavailable } from './schemas.js';

const meetingFields = {
  id: Type.String(),
  title: Type.String(),
  sipUri: Type.String({ description: 'what phones dial' }),
  joinUrl: Type.String({ description: 'the meeting page for browsers' }),
  hasPin: Type.Boolean({ description: 'PSTN callers must enter a PIN' }),
  dialInCode: Type.Optional(Type.String({ description: 'what a PSTN caller types in the IVR' })),
  createdAt: Type.String({ description: 'ISO 8601' }),
  endedAt: Type.Optional(Type.String({ description: 'ISO 8601, once ended' })),
};

const meetingView = Type.Object(meetingFields, { description: 'the meeting' });

const participantView = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  kind: Type.Enum(['browser', 'phone'], { type: 'string' }),
  muted: Type.Boolean(),
  joinedAt: Type.String({ description: 'ISO 8601' }),
});

const byId = Type.Object({ id: Type.String() });

const byParticipant = Type.Object({ id: Type.String(), participantId: Type.String({ minLength: 1 }) });

const unknownMeeting = errorAnswer('no meeting of that id');

export interface MeetingRoutesOptions {
  readonly meetings: MeetingService;
  /** The participants of this node's rooms, which an operator may remove. */
  readonly participants: Pick<Rooms, 'removeParticipant'>;
  /** Which node hosts a meeting. */
  readonly owners: Pick<MeetingPlacement, 'owner'>;
}

const ownerView = Type.Object(
  { nodeId: Type.String(), url: Type.String({ description: "the node's public URL; browsers of the meeting are sent there" }) },
  { description: 'the node hosting the meeting now; absent while no node does (nobody in it)' },
);

export const meetingRoutes: FastifyPluginAsyncTypebox<MeetingRoutesOptions> = async (app, { meetings, participants, owners }) => {
  app.post(
    '/meetings',
    {
      schema: {
        tags: ['meetings'],
        summary: 'Create a meeting',
        body: Type.Object(
          {
            id: Type.Optional(Type.String({ pattern: MEETING_ID_PATTERN.source, description: '3-64 of A-Z a-z 0-9 _ -; made up when absent (ten digits, also its dial-in code)' })),
            title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            pin: Type.Optional(Type.String({ pattern: '^[0-9]{4,10}$', description: '4-10 digits PSTN callers must enter' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object(meetingFields, { description: 'created' }),
          400: invalidRequest,
          409: errorAnswer("the id is taken (or is another meeting's dial-in code)"),
          503: storeUnavailable,
        },
      },
    },
    async (request, reply) => {
      const meeting = await meetings.create(request.body);
      return reply.code(201).send(meetings.view(meeting));
    },
  );

  app.get(
    '/meetings',
    {
      schema: {
        tags: ['meetings'],
        summary: 'List the meetings',
        response: { 200: Type.Object({ meetings: Type.Array(meetingView) }, { description: 'every meeting, ended ones too' }), 503: storeUnavailable },
      },
    },
    async () => ({ meetings: (await meetings.list()).map((m) => meetings.view(m)) }),
  );

  app.get(
    '/meetings/:id',
    {
      schema: {
        tags: ['meetings'],
        summary: 'One meeting, with its participants',
        params: byId,
        response: {
          200: Type.Object(
            { ...meetingFields, owner: Type.Optional(ownerView), participants: Type.Array(participantView, { description: 'in the order they joined' }) },
            { description: 'the meeting' },
          ),
          404: unknownMeeting,
          503: storeUnavailable,
        },
      },
    },
    async (request) => {
      const meeting = await meetings.get(request.params.id);
      const [participants, owner] = await Promise.all([meetings.participants(meeting.id), owners.owner(meeting.id)]);
      return {
        ...meetings.view(meeting),
        ...(owner && { owner }),
        participants: participants
          .sort((a, b) => a.joinedAt - b.joinedAt)
          .map((p) => ({ id: p.id, displayName: p.displayName, kind: p.kind, muted: p.muted, joinedAt: new Date(p.joinedAt).toISOString() })),
      };
    },
  );

  app.delete(
    '/meetings/:id',
    {
      schema: {
        tags: ['meetings'],
        summary: 'End a meeting',
        description: 'Disconnects everyone and hangs up its phones with a BYE; an ended meeting cannot be joined again.',
        params: byId,
        response: {
          200: Type.Object(meetingFields, { description: 'the meeting, with endedAt' }),
          404: unknownMeeting,
          410: errorAnswer('the meeting has already ended'),
          503: storeUnavailable,
        },
      },
    },
    async (request) => meetings.view(await meetings.end(request.params.id)),
  );

  // A phone gets a BYE (Q.850 cause 16, "removed from the meeting"), a browser a `removed` notice and close code 4403.
  app.delete(
    '/meetings/:id/participants/:participantId',
    {
      schema: {
        tags: ['meetings'],
        summary: 'Remove a participant from a meeting',
        description:
          "A phone's call ends with a BYE (Reason: Q.850;cause=16, removed from the meeting); a browser gets a removed notification and its socket closes with 4403. Only participants in the meeting's room on this node.",
        params: byParticipant,
        response: {
          204: Type.Null({ description: 'removed' }),
          400: invalidRequest,
          404: errorAnswer('no meeting of that id, or no such participant in its room on this node (never there, gone, or on another node)'),
          503: storeUnavailable,
        },
      },
    },
    async (request, reply) => {
      const { id, participantId } = request.params;
      await meetings.get(id);
      if (!(await participants.removeParticipant(id, participantId))) {
        throw new GatewayError('not_found', `no participant "${participantId}" in meeting "${id}" on this node`);
      }
      return reply.code(204).send(null);
    },
  );
};
