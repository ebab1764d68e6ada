/**
 * The SIP credentials REST API under /api/sip-credentials. The password appears in
 * exactly one answer, the 201 of its creation; every response schema lists its fields
 * with additionalProperties false, so the serializer drops anything else (HA1s above
 * all) even if a handler were ever handed a whole stored record.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import type { SipCredentialSummary, SipCredentials } from '../credentials/sip-credentials.js';
import { errorAnswer, invalidRequest, storeUnavailable } from './schemas.js';

const issuedView = Type.Object(
  {
    username: Type.String(),
    password: Type.String({ description: 'shown only in this answer' }),
    sipUri: Type.String({ description: "where to dial: the meeting's URI, or the template sip:<meetingId>@<domain> for an unscoped credential" }),
    meetingId: Type.Optional(Type.String({ description: 'the one meeting it opens; absent: any meeting' })),
  },
  { additionalProperties: false, description: 'created; the only answer that carries the password (Cache-Control: no-store)' },
);

const summaryView = Type.Object(
  {
    username: Type.String(),
    meetingId: Type.Optional(Type.String()),
    twilioCallSid: Type.Optional(Type.String({ description: 'set on a credential minted for one Twilio call' })),
    expiresAt: Type.Optional(Type.String({ description: 'ISO 8601' })),
    createdAt: Type.String({ description: 'ISO 8601' }),
  },
  { additionalProperties: false },
);

export interface SipCredentialRoutesOptions {
  readonly credentials: Pick<SipCredentials, 'create' | 'list' | 'revoke'>;
}

export const sipCredentialRoutes: FastifyPluginAsyncTypebox<SipCredentialRoutesOptions> = async (app, { credentials }) => {
  app.post(
    '/sip-credentials',
    {
      schema: {
        tags: ['SIP credentials'],
        summary: 'Create a SIP digest credential',
        body: Type.Object({ meetingId: Type.Optional(Type.String({ pattern: MEETING_ID_PATTERN.source })) }, { additionalProperties: false }),
        response: { 201: issuedView, 400: invalidRequest, 404: errorAnswer('no meeting of that id'), 410: errorAnswer('the meeting has ended'), 503: storeUnavailable },
      },
    },
    async (request, reply) => {
      const issued = await credentials.create(request.body);
      // The one response carrying a password: no cache along the way may keep it.
      return reply.code(201).header('cache-control', 'no-store').send(issued);
    },
  );

  app.get(
    '/sip-credentials',
    {
      schema: {
        tags: ['SIP credentials'],
        summary: 'List the SIP credentials, without their secrets',
        response: { 200: Type.Object({ credentials: Type.Array(summaryView) }, { additionalProperties: false, description: 'every credential' }), 503: storeUnavailable },
      },
    },
    async () => ({ credentials: (await credentials.list()).map(summary) }),
  );

  app.delete(
    '/sip-credentials/:username',
    {
      schema: {
        tags: ['SIP credentials'],
        summary: 'Revoke a SIP credential',
        params: Type.Object({ username: Type.String() }),
        response: { 204: Type.Null({ description: 'revoked' }), 404: errorAnswer('no credential of that username'), 503: storeUnavailable },
      },
    },
    async (request, reply) => {
      await credentials.revoke(request.params.username);
      return reply.code(204).send(null);
    },
  );
};

/** Picks the listed fields by name rather than spreading a record that might carry more. */
function summary(credential: SipCredentialSummary) {
  return {
    username: credential.username,
    ...(credential.meetingId !== undefined ? { meetingId: credential.meetingId } : {}),
    ...(credential.twilioCallSid !== undefined ? { twilioCallSid: credential.twilioCallSid } : {}),
    ...(credential.expiresAt !== undefined ? { expiresAt: new Date(credential.expiresAt).toISOString() } : {}),
    createdAt: new Date(credential.createdAt).toISOString(),
  };
}
