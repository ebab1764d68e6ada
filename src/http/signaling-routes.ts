/** The signaling WebSocket: one per browser participant, at /ws/meetings/:meetingId. */
import type { FastifyPluginAsync } from 'fastify';
import { SignalingSession, type SignalingDeps } from '../signaling/signaling-session.js';

export const signalingRoutes: FastifyPluginAsync<SignalingDeps> = async (app, deps) => {
  app.route<{ Params: { meetingId: string } }>({
    method: 'GET',
    url: '/ws/meetings/:meetingId',
    // A plain HTTP GET is told how to connect (RFC 9110 §15.5.22), not given an empty 404.
    handler: (_request, reply) =>
      reply.code(426).header('upgrade', 'websocket').send({ error: 'upgrade_required', message: 'this is a WebSocket endpoint: connect with Upgrade: websocket' }),
    wsHandler: (socket, request) => {
      new SignalingSession(socket, request.params.meetingId, deps);
    },
  });
};
