/**
 * GET /api/media: how many mediasoup workers, routers, transports, producers and consumers
 * this node has open. With no call or meeting live, anything above the workers is a leak;
 * operators and the soak benchmark read it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MediaCensus } from '../media/media-census.js';

const countsView = Type.Object(
  {
    workers: Type.Integer(),
    routers: Type.Integer(),
    transports: Type.Integer(),
    producers: Type.Integer(),
    consumers: Type.Integer(),
  },
  { additionalProperties: false, description: 'the mediasoup objects open on this node' },
);

export const mediaRoutes: FastifyPluginAsyncTypebox<{ census: MediaCensus }> = async (app, { census }) => {
  app.get(
    '/media',
    {
      schema: {
        tags: ['operations'],
        summary: 'The mediasoup objects open on this node',
        description: 'Counted through mediasoup observer events; with no call or meeting live, anything but the workers is a leak.',
        response: { 200: countsView },
      },
    },
    async () => census.counts(),
  );
};
