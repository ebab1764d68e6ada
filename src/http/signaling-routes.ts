/** The signaling WebSocket: one per browser participant, at /ws/meetings/:meetingId. */
import type { FastifyPluginAsync } from 'fastify';
import { SignalingSession, type SignalingDeps } from '../signaling/signaling-session.js';

export const signalingRoutes: FastifyPluginAsync<SignalingDeps> = async (app, deps) => {
  app.get<{ Params: { meetingId: string } }>('/ws/meetings/:meetingId', { websocket: true }, (socket, request) => {
    new SignalingSession(socket, request.params.meetingId, deps);
  });
};
