/** The meetings REST API under /api/meetings, and removing a participant from one. */
import type { FastifyPluginAsync } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Rooms } from '../media/rooms.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import { errorView } from './schemas.js';

const meetingIdSchema = { type: 'string', pattern: MEETING_ID_PATTERN.source } as const;

const meetingView = {
  type: 'object',
  required: ['id', 'title', 'sipUri', 'joinUrl', 'hasPin', 'createdAt'],
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    sipUri: { type: 'string' },
    joinUrl: { type: 'string' },
    hasPin: { type: 'boolean' },
    dialInCode: { type: 'string' },
    createdAt: { type: 'string' },
    endedAt: { type: 'string' },
  },
} as const;

const participantView = {
  type: 'object',
  required: ['id', 'displayName', 'kind', 'muted', 'joinedAt'],
  properties: {
    id: { type: 'string' },
    displayName: { type: 'string' },
    kind: { type: 'string', enum: ['browser', 'phone'] },
    muted: { type: 'boolean' },
    joinedAt: { type: 'string' },
  },
} as const;

const byId = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string' } },
} as const;

const byParticipant = {
  type: 'object',
  required: ['id', 'participantId'],
  properties: { id: { type: 'string' }, participantId: { type: 'string', minLength: 1 } },
} as const;

export interface MeetingRoutesOptions {
  readonly meetings: MeetingService;
  /** The participants of this node's rooms, which an operator may remove. */
  readonly participants: Pick<Rooms, 'removeParticipant'>;
}

interface CreateBody {
  id?: string;
  title?: string;
  pin?: string;
}

export const meetingRoutes: FastifyPluginAsync<MeetingRoutesOptions> = async (app, { meetings, participants }) => {
  app.post<{ Body: CreateBody }>(
    '/meetings',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            id: meetingIdSchema,
            title: { type: 'string', minLength: 1, maxLength: 200 },
            pin: { type: 'string', pattern: '^[0-9]{4,10}$' },
          },
        },
        response: { 201: meetingView, '4xx': errorView },
      },
    },
    async (request, reply) => {
      const meeting = await meetings.create(request.body ?? {});
      return reply.code(201).send(meetings.view(meeting));
    },
  );

  app.get('/meetings', { schema: { response: { 200: { type: 'object', properties: { meetings: { type: 'array', items: meetingView } } } } } }, async () => ({
    meetings: (await meetings.list()).map((m) => meetings.view(m)),
  }));

  app.get<{ Params: { id: string } }>(
    '/meetings/:id',
    {
      schema: {
        params: byId,
        response: {
          200: { ...meetingView, properties: { ...meetingView.properties, participants: { type: 'array', items: participantView } } },
          '4xx': errorView,
        },
      },
    },
    async (request) => {
      const meeting = await meetings.get(request.params.id);
      const participants = await meetings.participants(meeting.id);
      return {
        ...meetings.view(meeting),
        participants: participants
          .sort((a, b) => a.joinedAt - b.joinedAt)
          .map((p) => ({ id: p.id, displayName: p.displayName, kind: p.kind, muted: p.muted, joinedAt: new Date(p.joinedAt).toISOString() })),
      };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/meetings/:id',
    { schema: { params: byId, response: { 200: meetingView, '4xx': errorView } } },
    async (request) => meetings.view(await meetings.end(request.params.id)),
  );

  // A phone gets a BYE (Q.850 cause 16, "removed from the meeting"), a browser a `removed` notice and close code 4403.
  app.delete<{ Params: { id: string; participantId: string } }>(
    '/meetings/:id/participants/:participantId',
    { schema: { params: byParticipant, response: { '4xx': errorView } } },
    async (request, reply) => {
      const { id, participantId } = request.params;
      await meetings.get(id);
      if (!(await participants.removeParticipant(id, participantId))) {
        throw new GatewayError('not_found', `no participant "${participantId}" in meeting "${id}" on this node`);
      }
      return reply.code(204).send();
    },
  );
};
