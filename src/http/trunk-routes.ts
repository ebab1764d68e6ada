/** The trunk API under /api/trunks: outbound SIP trunks a meeting dials numbers through. The password goes in, never out. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Trunks } from '../pstn/trunks.js';
import { errorAnswer, invalidRequest, storeUnavailable } from './schemas.js';

const trunkView = Type.Object(
  {
    id: Type.String(),
    address: Type.String({ description: 'sip:host[:port][;transport=udp|tcp|tls] or sips:host[:port]' }),
    username: Type.Optional(Type.String({ description: 'the digest username' })),
    hasPassword: Type.Boolean({ description: 'whether a digest password is stored (it is never shown)' }),
    callerId: Type.Optional(Type.String({ description: 'the From user of calls through it' })),
    allowedPrefixes: Type.Array(Type.String(), { description: 'numbers it may call start with one of these; empty: any' }),
    register: Type.Optional(Type.Object({ expires: Type.Integer() }, { description: 'this node REGISTERs with the trunk' })),
    registration: Type.Optional(
      Type.Object(
        {
          state: Type.Enum(['registering', 'registered', 'failed'], { type: 'string' }),
          failures: Type.Integer({ description: 'failures in a row since the last success' }),
          expiresAt: Type.Optional(Type.String({ description: 'ISO 8601, while registered' })),
          sipStatus: Type.Optional(Type.Integer({ description: "the trunk's answer to the last failed REGISTER" })),
          reason: Type.Optional(Type.String()),
        },
        { description: 'how the registration stands on this node' },
      ),
    ),
    createdAt: Type.String({ description: 'ISO 8601' }),
  },
  { description: 'the trunk' },
);

const byId = Type.Object({ id: Type.String({ minLength: 1 }) });
const unknownTrunk = errorAnswer('no trunk of that id');

export interface TrunkRoutesOptions {
  readonly trunks: Trunks;
}

export const trunkRoutes: FastifyPluginAsyncTypebox<TrunkRoutesOptions> = async (app, { trunks }) => {
  app.post(
    '/trunks',
    {
      schema: {
        tags: ['trunks'],
        summary: 'Add an outbound SIP trunk',
        body: Type.Object(
          {
            id: Type.String({ minLength: 1, maxLength: 64, description: '1-64 of A-Z a-z 0-9 _ -' }),
            address: Type.String({ minLength: 1, maxLength: 256, description: 'sip:host[:port][;transport=udp|tcp|tls] or sips:host[:port]' }),
            username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'stored for digest answers; never shown, never logged' })),
            callerId: Type.Optional(Type.String({ pattern: '^\\+?[A-Za-z0-9_.-]{1,32}$' })),
            allowedPrefixes: Type.Optional(Type.Array(Type.String({ maxLength: 16 }), { maxItems: 100 })),
            register: Type.Optional(Type.Object({ expires: Type.Integer({ minimum: 10, maximum: 86400 }) }, { additionalProperties: false })),
          },
          { additionalProperties: false },
        ),
        response: { 201: trunkView, 400: invalidRequest, 409: errorAnswer('a trunk of that id exists'), 503: storeUnavailable },
      },
    },
    async (request, reply) => reply.code(201).send(await trunks.create(request.body)),
  );

  app.get(
    '/trunks',
    { schema: { tags: ['trunks'], summary: 'The outbound SIP trunks', response: { 200: Type.Object({ trunks: Type.Array(trunkView) }, { description: 'every trunk' }), 503: storeUnavailable } } },
    async () => ({ trunks: await trunks.list() }),
  );

  app.get(
    '/trunks/:id',
    { schema: { tags: ['trunks'], summary: 'One trunk', params: byId, response: { 200: trunkView, 400: invalidRequest, 404: unknownTrunk, 503: storeUnavailable } } },
    async (request) => trunks.get(request.params.id),
  );

  app.delete(
    '/trunks/:id',
    {
      schema: {
        tags: ['trunks'],
        summary: 'Remove a trunk (unregistering it first)',
        params: byId,
        response: { 204: Type.Null({ description: 'removed' }), 400: invalidRequest, 404: unknownTrunk, 503: storeUnavailable },
      },
    },
    async (request, reply) => {
      await trunks.delete(request.params.id);
      return reply.code(204).send(null);
    },
  );
};
