import type { TestProject } from 'vitest/node';
import { startTestRedis } from '../support/redis-server.js';
import setupWebAssets from './web-assets.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startTestRedis();
  project.provide('redisUrl', redis.url);
  const removeWebAssets = await setupWebAssets(project);
  return async () => {
    await removeWebAssets();
    await redis.stop();
  };
}
