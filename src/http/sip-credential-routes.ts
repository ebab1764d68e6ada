/**
 * The SIP credentials REST API under /api/sip-credentials. The password appears in
 * exactly one answer, the 201 of its creation; every response schema lists its fields
 * with additionalProperties false, so the serializer drops anything else (HA1s above
 * all) even if a handler were ever handed a whole stored record.
 */
import type { FastifyPluginAsync } from 'fastify';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import type { SipCredentialSummary, SipCredentials } from '../credentials/sip-credentials.js';
import { errorView } from './schemas.js';

const issuedView = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password', 'sipUri'],
  properties: {
    username: { type: 'string' },
    password: { type: 'string' },
    sipUri: { type: 'string' },
    meetingId: { type: 'string' },
  },
} as const;

const summaryView = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'createdAt'],
  properties: {
    username: { type: 'string' },
    meetingId: { type: 'string' },
    twilioCallSid: { type: 'string' },
    expiresAt: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

interface CreateBody {
  meetingId?: string;
}

export interface SipCredentialRoutesOptions {
  readonly credentials: Pick<SipCredentials, 'create' | 'list' | 'revoke'>;
}

export const sipCredentialRoutes: FastifyPluginAsync<SipCredentialRoutesOptions> = async (app, { credentials }) => {
  app.post<{ Body: CreateBody }>(
    '/sip-credentials',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { meetingId: { type: 'string', pattern: MEETING_ID_PATTERN.source } },
        },
        response: { 201: issuedView, '4xx': errorView },
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
        response: {
          200: { type: 'object', additionalProperties: false, required: ['credentials'], properties: { credentials: { type: 'array', items: summaryView } } },
        },
      },
    },
    async () => ({ credentials: (await credentials.list()).map(summary) }),
  );

  app.delete<{ Params: { username: string } }>(
    '/sip-credentials/:username',
    {
      schema: {
        params: { type: 'object', required: ['username'], properties: { username: { type: 'string' } } },
        response: { 204: { type: 'null' }, '4xx': errorView },
      },
    },
    async (request, reply) => {
      await credentials.revoke(request.params.username);
      return reply.code(204).send();
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
