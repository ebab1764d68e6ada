/** The trunk API under /api/trunks: outbound SIP trunks a meeting dials numbers through. The password goes in, never out. */
import type { FastifyPluginAsync } from 'fastify';
import type { NewTrunk, Trunks } from '../pstn/trunks.js';
import { errorView } from './schemas.js';

const trunkView = {
  type: 'object',
  required: ['id', 'address', 'hasPassword', 'allowedPrefixes', 'createdAt'],
  properties: {
    id: { type: 'string' },
    address: { type: 'string' },
    username: { type: 'string' },
    hasPassword: { type: 'boolean' },
    callerId: { type: 'string' },
    allowedPrefixes: { type: 'array', items: { type: 'string' } },
    register: { type: 'object', required: ['expires'], properties: { expires: { type: 'integer' } } },
    registration: {
      type: 'object',
      required: ['state', 'failures'],
      properties: {
        state: { type: 'string', enum: ['registering', 'registered', 'failed'] },
        failures: { type: 'integer' },
        expiresAt: { type: 'string' },
        sipStatus: { type: 'integer' },
        reason: { type: 'string' },
      },
    },
    createdAt: { type: 'string' },
  },
} as const;

const byId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } } as const;

export interface TrunkRoutesOptions {
  readonly trunks: Trunks;
}

export const trunkRoutes: FastifyPluginAsync<TrunkRoutesOptions> = async (app, { trunks }) => {
  app.post<{ Body: NewTrunk }>(
    '/trunks',
    {
      schema: {
        body: {
          type: 'object',
          required: ['id', 'address'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 64 },
            address: { type: 'string', minLength: 1, maxLength: 256 },
            username: { type: 'string', minLength: 1, maxLength: 128 },
            password: { type: 'string', minLength: 1, maxLength: 256 },
            callerId: { type: 'string', pattern: '^\\+?[A-Za-z0-9_.-]{1,32}$' },
            allowedPrefixes: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 16 } },
            register: {
              type: 'object',
              required: ['expires'],
              additionalProperties: false,
              properties: { expires: { type: 'integer', minimum: 10, maximum: 86400 } },
            },
          },
        },
        response: { 201: trunkView, '4xx': errorView },
      },
    },
    async (request, reply) => reply.code(201).send(await trunks.create(request.body)),
  );

  app.get('/trunks', { schema: { response: { 200: { type: 'object', required: ['trunks'], properties: { trunks: { type: 'array', items: trunkView } } } } } }, async () => ({
    trunks: await trunks.list(),
  }));

  app.get<{ Params: { id: string } }>('/trunks/:id', { schema: { params: byId, response: { 200: trunkView, '4xx': errorView } } }, async (request) =>
    trunks.get(request.params.id),
  );

  app.delete<{ Params: { id: string } }>('/trunks/:id', { schema: { params: byId, response: { '4xx': errorView } } }, async (request, reply) => {
    await trunks.delete(request.params.id);
    return reply.code(204).send();
  });
};
