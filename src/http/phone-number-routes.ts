/** /api/phone-numbers: which meeting a call to each PSTN number goes to. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import type { PhoneNumberAssignment, PhoneNumbers } from '../pstn/phone-numbers.js';
import { errorAnswer, storeUnavailable } from './schemas.js';

const assignmentFields = {
  number: Type.String({ description: 'E.164' }),
  meetingId: Type.String(),
  createdAt: Type.String({ description: 'ISO 8601' }),
};

const assignmentView = (description: string) => Type.Object(assignmentFields, { additionalProperties: false, description });

const byNumber = Type.Object({ e164: Type.String({ description: 'E.164: "+", the country code and up to 15 digits, like +14155550100' }) });

const notE164 = errorAnswer('the number is not E.164, or the body does not match its schema');

export const phoneNumberRoutes: FastifyPluginAsyncTypebox<{ phoneNumbers: PhoneNumbers }> = async (app, { phoneNumbers }) => {
  app.get(
    '/phone-numbers',
    {
      schema: {
        tags: ['PSTN'],
        summary: 'The PSTN numbers pointed at meetings',
        response: { 200: Type.Object({ phoneNumbers: Type.Array(Type.Object(assignmentFields, { additionalProperties: false })) }, { description: 'every assignment' }), 503: storeUnavailable },
      },
    },
    async () => ({ phoneNumbers: (await phoneNumbers.list()).map(view) }),
  );

  app.put(
    '/phone-numbers/:e164',
    {
      schema: {
        tags: ['PSTN'],
        summary: 'Point a PSTN number at a meeting',
        description: "Calls to the number skip the IVR's meeting question.",
        params: byNumber,
        body: Type.Object({ meetingId: Type.String({ pattern: MEETING_ID_PATTERN.source }) }, { additionalProperties: false }),
        response: {
          200: assignmentView('reassigned'),
          201: assignmentView('assigned'),
          400: notE164,
          404: errorAnswer('no meeting of that id'),
          410: errorAnswer('the meeting has ended'),
          503: storeUnavailable,
        },
      },
    },
    async (request, reply) => {
      const { assignment, created } = await phoneNumbers.assign(request.params.e164, request.body.meetingId);
      return reply.code(created ? 201 : 200).send(view(assignment));
    },
  );

  app.delete(
    '/phone-numbers/:e164',
    {
      schema: {
        tags: ['PSTN'],
        summary: 'Release a PSTN number',
        params: byNumber,
        response: { 204: Type.Null({ description: 'released' }), 400: notE164, 404: errorAnswer('the number is not assigned to a meeting'), 503: storeUnavailable },
      },
    },
    async (request, reply) => {
      await phoneNumbers.release(request.params.e164);
      return reply.code(204).send(null);
    },
  );
};

function view(assignment: PhoneNumberAssignment) {
  return { number: assignment.number, meetingId: assignment.meetingId, createdAt: new Date(assignment.createdAt).toISOString() };
}
