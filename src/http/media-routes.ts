/**
 * GET /api/media: how many mediasoup workers, routers, transports, producers and consumers
 * this node has open. With no call or meeting live, anything above the workers is a leak;
 * operators and the soak benchmark read it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MediaCensus } from '../media/media-census.js';

const countsView = {
  type: 'object',
  additionalProperties: false,
  required: ['workers', 'routers', 'transports', 'producers', 'consumers'],
  properties: {
    workers: { type: 'integer' },
    routers: { type: 'integer' },
    transports: { type: 'integer' },
    producers: { type: 'integer' },
    consumers: { type: 'integer' },
  },
} as const;

export const mediaRoutes: FastifyPluginAsync<{ census: MediaCensus }> = async (app, { census }) => {
  app.get('/media', { schema: { response: { 200: countsView } } }, async () => census.counts());
};
