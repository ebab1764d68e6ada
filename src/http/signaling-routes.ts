/** The signaling WebSocket: one per browser participant, at /ws/meetings/:meetingId. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { SignalingSession, type SignalingDeps } from '../signaling/signaling-session.js';
import { errorAnswer } from './schemas.js';

export const signalingRoutes: FastifyPluginAsyncTypebox<SignalingDeps> = async (app, deps) => {
  app.route({
    method: 'GET',
    url: '/ws/meetings/:meetingId',
    schema: {
      tags: ['meetings'],
      summary: "A browser participant's signaling WebSocket",
      description: 'JSON text frames, protocol version 1 (see the README, Signaling protocol). Closes with 4404 for an unknown meeting, 4410 for an ended one, 4409 when it is full.',
      params: Type.Object({ meetingId: Type.String() }),
      response: {
        101: Type.Null({ description: 'Switching Protocols: the WebSocket is open' }),
        426: errorAnswer('a plain GET, without Upgrade: websocket'),
      },
    },
    // A plain HTTP GET is told how to connect (RFC 9110 §15.5.22), not given an empty 404.
    handler: async (_request, reply) =>
      reply.code(426).header('upgrade', 'websocket').send({ error: 'upgrade_required', message: 'this is a WebSocket endpoint: connect with Upgrade: websocket' }),
    wsHandler: (socket, request) => {
      new SignalingSession(socket, request.params.meetingId, deps);
    },
  });
};
