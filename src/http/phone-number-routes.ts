/** /api/phone-numbers: which meeting a call to each PSTN number goes to. */
import type { FastifyPluginAsync } from 'fastify';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import type { PhoneNumberAssignment, PhoneNumbers } from '../pstn/phone-numbers.js';
import { errorView } from './schemas.js';

const assignmentView = {
  type: 'object',
  additionalProperties: false,
  required: ['number', 'meetingId', 'createdAt'],
  properties: { number: { type: 'string' }, meetingId: { type: 'string' }, createdAt: { type: 'string' } },
} as const;

const byNumber = { type: 'object', required: ['e164'], properties: { e164: { type: 'string' } } } as const;

export const phoneNumberRoutes: FastifyPluginAsync<{ phoneNumbers: PhoneNumbers }> = async (app, { phoneNumbers }) => {
  app.get('/phone-numbers', { schema: { response: { 200: { type: 'object', properties: { phoneNumbers: { type: 'array', items: assignmentView } } } } } }, async () => ({
    phoneNumbers: (await phoneNumbers.list()).map(view),
  }));

  app.put<{ Params: { e164: string }; Body: { meetingId: string } }>(
    '/phone-numbers/:e164',
    {
      schema: {
        params: byNumber,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['meetingId'],
          properties: { meetingId: { type: 'string', pattern: MEETING_ID_PATTERN.source } },
        },
        response: { 200: assignmentView, 201: assignmentView, '4xx': errorView },
      },
    },
    async (request, reply) => {
      const { assignment, created } = await phoneNumbers.assign(request.params.e164, request.body.meetingId);
      return reply.code(created ? 201 : 200).send(view(assignment));
    },
  );

  app.delete<{ Params: { e164: string } }>(
    '/phone-numbers/:e164',
    { schema: { params: byNumber, response: { '4xx': errorView } } },
    async (request, reply) => {
      await phoneNumbers.release(request.params.e164);
      return reply.code(204).send();
    },
  );
};

function view(assignment: PhoneNumberAssignment) {
  return { number: assignment.number, meetingId: assignment.meetingId, createdAt: new Date(assignment.createdAt).toISOString() };
}
