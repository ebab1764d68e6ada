/**
 * Nonce counts shared by every gateway node through Redis, so a request replayed to
 * another node is refused just as it would be on the node that saw it first.
 */
import type { Redis } from 'ioredis';
import { storeFailure } from '../../store/store-unavailable.js';
import type { NonceCountStore } from './nonce-count-store.js';

/**
 * Compare and set in one step: two nodes claiming the same count at once cannot both
 * win, as they could between a separate GET and SET. Only an accepted claim sets the
 * key (and its expiry), matching MemoryNonceCountStore.
 * KEYS[1] the nonce's key; ARGV[1] nc; ARGV[2] ttl in ms. Returns 1 when accepted.
 */
const CLAIM_SCRIPT = `
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) <= tonumber(last) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

export interface RedisNonceCountStoreOptions {
  /** Prepended to every key; default "gw:", as RedisStore's. */
  readonly prefix?: string;
}

export class RedisNonceCountStore implements NonceCountStore {
  private readonly keyPrefix: string;

  /** The client is borrowed, not owned: closing it is up to whoever connected it. */
  constructor(
    private readonly redis: Redis,
    options: RedisNonceCountStoreOptions = {},
  ) {
    this.keyPrefix = `${options.prefix ?? 'gw:'}nonce-count:`;
  }

  /** ttlMs must be a positive integer (Redis PX); Redis errors reject, so callers fail closed. */
  async claim(nonce: string, nc: number, ttlMs: number): Promise<boolean> {
    // Plain EVAL rather than defineCommand: the script is tiny and a shared client stays unmodified.
    const claimed = await this.redis.eval(CLAIM_SCRIPT, 1, this.keyPrefix + nonce, nc, ttlMs).catch((err: unknown) => {
      throw storeFailure(err, this.redis);
    });
    return claimed === 1;
  }
}
