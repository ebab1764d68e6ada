import type { Logger } from '../logger.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { GatewayStore } from './store.js';

/** Redis when a URL is configured (several nodes), otherwise the embedded memory store. */
export async function openStore(redisUrl: string | undefined, log: Logger): Promise<GatewayStore> {
  if (!redisUrl) {
    log.info({ store: 'memory' }, 'state kept in memory (single node; set REDIS_URL to share it)');
    return new MemoryStore();
  }
  const store = await RedisStore.connect(redisUrl, { log: log.child({ component: 'store' }) });
  log.info({ store: 'redis' }, 'state kept in Redis');
  return store;
}
