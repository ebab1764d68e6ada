/**
 * The SIP guard's state in Redis, so every gateway node counts the same failures and
 * drops the same banned sources. Failure windows are sorted sets of timestamps (a sliding
 * window: older members are trimmed at each count); a ban is one key that outlives the
 * ban by BAN_MEMORY_MS (so a repeat is doubled), indexed in a sorted set by its end.
 * With a blacklist key, banned addresses are also members of that plain set, the one
 * drachtio-server's --blacklist-redis-key reads.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BAN_MEMORY_MS, type FailureKind, MAX_DOUBLINGS, type NewBan, type SipBan, type SipGuardStore } from './sip-guard-store.js';
import { storeFailure } from './store-unavailable.js';

/**
 * Read, decide and write a ban in one step, so two nodes banning one address at once
 * agree on its strike (banLengthMs, in Lua). KEYS: the ban, the index, the blacklist set
 * (or the index again when none). ARGV: address, now, base ms, failures, reason,
 * BAN_MEMORY_MS, MAX_DOUBLINGS, whether to write the blacklist (1/0).
 */
const BAN_SCRIPT = `
local now = tonumber(ARGV[2])
local memory = tonumber(ARGV[6])
local strike = 0
local previous = redis.call('GET', KEYS[1])
if previous then
  local record = cjson.decode(previous)
  if record['until'] > now then return previous end
  if record['until'] + memory > now then strike = record['strike'] end
end
local length = tonumber(ARGV[3]) * 2 ^ math.min(strike, tonumber(ARGV[7]))
local ends = now + length
local record = cjson.encode({ address = ARGV[1], bannedAt = now, ['until'] = ends, failures = tonumber(ARGV[4]), reason = ARGV[5], strike = strike + 1 })
redis.call('SET', KEYS[1], record, 'PX', string.format('%d', length + memory))
redis.call('ZADD', KEYS[2], string.format('%d', ends), ARGV[1])
if ARGV[8] == '1' then redis.call('SADD', KEYS[3], ARGV[1]) end
return record
`;

export interface RedisSipGuardStoreOptions {
  /** Prepended to every key of ours; default "gw:", as RedisStore's. */
  readonly prefix?: string;
  /** drachtio-server's blacklist set (--blacklist-redis-key), written as it is (no prefix); unset: none. */
  readonly blacklistKey?: string | undefined;
}

export class RedisSipGuardStore implements SipGuardStore {
  private readonly prefix: string;
  private readonly blacklistKey: string | undefined;

  /** The client is borrowed, not owned: closing it is up to whoever connected it. */
  constructor(
    private readonly redis: Redis,
    options: RedisSipGuardStoreOptions = {},
  ) {
    this.prefix = `${options.prefix ?? 'gw:'}sip-guard:`;
    this.blacklistKey = options.blacklistKey;
  }

  recordFailure(kind: FailureKind, key: string, now: number, windowMs: number): Promise<number> {
    return this.run(async () => {
      const window = this.windowKey(kind, key);
      const results = await this.redis
        .multi()
        .zremrangebyscore(window, '-inf', now - windowMs)
        // A random tail keeps two failures in the same millisecond apart.
        .zadd(window, now, `${now}:${randomBytes(6).toString('hex')}`)
        .zcard(window)
        .pexpire(window, windowMs)
        .exec();
      return Number(results?.[2]?.[1] ?? 0);
    });
  }

  failures(kind: FailureKind, key: string, now: number, windowMs: number): Promise<number> {
    return this.run(() => this.redis.zcount(this.windowKey(kind, key), `(${now - windowMs}`, '+inf'));
  }

  ban(ban: NewBan): Promise<SipBan> {
    return this.run(async () => {
      const record = (await this.redis.eval(
        BAN_SCRIPT,
        3,
        this.banKey(ban.address),
        this.indexKey,
        this.blacklistKey ?? this.indexKey,
        ban.address,
        ban.now,
        ban.baseMs,
        ban.failures,
        ban.reason,
        BAN_MEMORY_MS,
        MAX_DOUBLINGS,
        this.blacklistKey ? '1' : '0',
      )) as string;
      return JSON.parse(record) as SipBan;
    });
  }

  activeBan(address: string, now: number): Promise<SipBan | undefined> {
    return this.run(async () => {
      const json = await this.redis.get(this.banKey(address));
      const ban = json === null ? undefined : (JSON.parse(json) as SipBan);
      return ban && ban.until > now ? ban : undefined;
    });
  }

  listBans(now: number): Promise<SipBan[]> {
    return this.run(async () => {
      const addresses = await this.redis.zrangebyscore(this.indexKey, `(${now}`, '+inf');
      if (addresses.length === 0) return [];
      const records = await this.redis.mget(addresses.map((address) => this.banKey(address)));
      return records
        .filter((json): json is string => json !== null)
        .map((json) => JSON.parse(json) as SipBan)
        .filter((ban) => ban.until > now)
        .sort((a, b) => a.until - b.until);
    });
  }

  unban(address: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const transaction = this.redis
        .multi()
        .get(this.banKey(address))
        .del(this.banKey(address))
        .zrem(this.indexKey, address)
        .del(this.windowKey('source', address));
      if (this.blacklistKey) transaction.srem(this.blacklistKey, address);
      const results = await transaction.exec();
      const json = results?.[0]?.[1];
      return typeof json === 'string' && (JSON.parse(json) as SipBan).until > now;
    });
  }

  sweep(now: number): Promise<void> {
    return this.run(async () => {
      const ended = await this.redis.zrangebyscore(this.indexKey, '-inf', now);
      if (ended.length === 0) return;
      const transaction = this.redis.multi().zrem(this.indexKey, ...ended);
      if (this.blacklistKey) transaction.srem(this.blacklistKey, ...ended);
      await transaction.exec();
    });
  }

  spendNonce(nonce: string, ttlMs: number): Promise<void> {
    return this.run(async () => void (await this.redis.set(this.nonceKey(nonce), '1', 'PX', ttlMs)));
  }

  isNonceSpent(nonce: string): Promise<boolean> {
    return this.run(async () => (await this.redis.exists(this.nonceKey(nonce))) === 1);
  }

  spendNonceIfNew(nonce: string, ttlMs: number): Promise<boolean> {
    // SET NX: Redis sets the key only if it is absent, and says whether it did ("OK") or not (null).
    return this.run(async () => (await this.redis.set(this.nonceKey(nonce), '1', 'PX', ttlMs, 'NX')) === 'OK');
  }

  private get indexKey(): string {
    return `${this.prefix}bans`;
  }

  private banKey(address: string): string {
    return `${this.prefix}ban:${address}`;
  }

  private windowKey(kind: FailureKind, key: string): string {
    return `${this.prefix}failures:${kind}:${key}`;
  }

  private nonceKey(nonce: string): string {
    return `${this.prefix}spent-nonce:${nonce}`;
  }

  /** Redis errors reject as StoreUnavailableError while the connection is down; the guard decides what that means. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeFailure(err, this.redis);
    }
  }
}
