/**
 * What the SIP guard (src/sip/guard/) must share between gateway nodes so they agree on
 * who is attacking: failed authentications in a sliding window per source address and per
 * username, the bans of source addresses, and the digest nonces a failed answer used up.
 * In memory for one node (MemorySipGuardStore), in Redis for several (RedisSipGuardStore).
 */

/** A banned source address. */
export interface SipBan {
  readonly address: string;
  readonly bannedAt: number;
  readonly until: number;
  /** Failed authentications that led to it (0 for a scanner banned on sight). */
  readonly failures: number;
  /** Why, in words: "5 failed authentications in 300 s", "scanner User-Agent". */
  readonly reason: string;
  /** Which ban of this address this is while earlier ones are remembered: 1, 2, 3...; each doubles the length. */
  readonly strike: number;
}

export interface NewBan {
  readonly address: string;
  readonly now: number;
  /** The length of a first ban; a repeat doubles it per earlier strike. */
  readonly baseMs: number;
  readonly failures: number;
  readonly reason: string;
}

/** Failure windows are kept apart by kind: a username and an address never share a key. */
export type FailureKind = 'source' | 'username';

export interface SipGuardStore {
  /** Records one failure of key at now; returns how many failures of key fall within (now - windowMs, now]. */
  recordFailure(kind: FailureKind, key: string, now: number, windowMs: number): Promise<number>;
  /** Failures of key within (now - windowMs, now], without recording one. */
  failures(kind: FailureKind, key: string, now: number, windowMs: number): Promise<number>;
  /**
   * Bans the address. A ban still running is returned as it is; otherwise the new one
   * lasts baseMs times two per earlier ban remembered (BAN_MEMORY_MS after it ended).
   */
  ban(ban: NewBan): Promise<SipBan>;
  /** The address's ban running at now, if any. */
  activeBan(address: string, now: number): Promise<SipBan | undefined>;
  /** Bans running at now, soonest to end first. */
  listBans(now: number): Promise<SipBan[]>;
  /** Lifts the address's ban and forgets its strikes and source failures; false when it had no ban running. */
  unban(address: string, now: number): Promise<boolean>;
  /** Bans that ended before now are forgotten by the drachtio-server blacklist set (when one is written). */
  sweep(now: number): Promise<void>;
  /** Marks a nonce used up for ttlMs. */
  spendNonce(nonce: string, ttlMs: number): Promise<void>;
  isNonceSpent(nonce: string): Promise<boolean>;
  /**
   * Marks a nonce used up for ttlMs unless it already is, in one step: true for the one
   * call that spent it, false for every other while it stays spent (two copies of a
   * single-use token arriving at once cannot both pass, as a check then a spend would let them).
   */
  spendNonceIfNew(nonce: string, ttlMs: number): Promise<boolean>;
}

/** How long an ended ban is remembered, so the next one from that address is doubled. */
export const BAN_MEMORY_MS = 24 * 3600 * 1000;
/** A ban is at most 2^10 times the first one (about 10 days with SIP_BAN_SECONDS 900). */
export const MAX_DOUBLINGS = 10;

/** The length of a ban given how many were before it. */
export function banLengthMs(baseMs: number, earlierStrikes: number): number {
  return baseMs * 2 ** Math.min(earlierStrikes, MAX_DOUBLINGS);
}

export interface MemorySipGuardStoreOptions {
  /** Keys (failure windows, bans, spent nonces) kept at most, each; beyond, the oldest go first. Default 100 000. */
  readonly maxEntries?: number;
}

/** One node's guard state. Every map is bounded: an attacker cannot grow it without end. */
export class MemorySipGuardStore implements SipGuardStore {
  private readonly windows = new Map<string, number[]>();
  private readonly bans = new Map<string, SipBan>();
  private readonly spentNonces = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(options: MemorySipGuardStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async recordFailure(kind: FailureKind, key: string, now: number, windowMs: number): Promise<number> {
    const id = `${kind}:${key}`;
    const times = (this.windows.get(id) ?? []).filter((at) => at > now - windowMs);
    times.push(now);
    // Re-inserted so the Map's order stays oldest-touched first, for bounded().
    this.windows.delete(id);
    this.windows.set(id, times);
    bounded(this.windows, this.maxEntries);
    return times.length;
  }

  async failures(kind: FailureKind, key: string, now: number, windowMs: number): Promise<number> {
    return (this.windows.get(`${kind}:${key}`) ?? []).filter((at) => at > now - windowMs).length;
  }

  async ban(ban: NewBan): Promise<SipBan> {
    const previous = this.bans.get(ban.address);
    if (previous && previous.until > ban.now) return previous;
    const earlier = previous && previous.until + BAN_MEMORY_MS > ban.now ? previous.strike : 0;
    const record: SipBan = {
      address: ban.address,
      bannedAt: ban.now,
      until: ban.now + banLengthMs(ban.baseMs, earlier),
      failures: ban.failures,
      reason: ban.reason,
      strike: earlier + 1,
    };
    this.bans.delete(ban.address);
    this.bans.set(ban.address, record);
    bounded(this.bans, this.maxEntries);
    return record;
  }

  async activeBan(address: string, now: number): Promise<SipBan | undefined> {
    const ban = this.bans.get(address);
    return ban && ban.until > now ? ban : undefined;
  }

  async listBans(now: number): Promise<SipBan[]> {
    return [...this.bans.values()].filter((ban) => ban.until > now).sort((a, b) => a.until - b.until);
  }

  async unban(address: string, now: number): Promise<boolean> {
    const active = (await this.activeBan(address, now)) !== undefined;
    this.bans.delete(address);
    this.windows.delete(`source:${address}`);
    return active;
  }

  async sweep(now: number): Promise<void> {
    for (const [address, ban] of this.bans) {
      if (ban.until + BAN_MEMORY_MS <= now) this.bans.delete(address);
    }
    for (const [nonce, expiresAt] of this.spentNonces) {
      if (expiresAt <= now) this.spentNonces.delete(nonce);
    }
  }

  async spendNonce(nonce: string, ttlMs: number): Promise<void> {
    this.spentNonces.set(nonce, Date.now() + ttlMs);
    bounded(this.spentNonces, this.maxEntries);
  }

  async isNonceSpent(nonce: string): Promise<boolean> {
    const expiresAt = this.spentNonces.get(nonce);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  // No await between the check and the set: nothing else runs in between.
  async spendNonceIfNew(nonce: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const expiresAt = this.spentNonces.get(nonce);
    if (expiresAt !== undefined && expiresAt > now) return false;
    // Re-inserted so the Map's order stays oldest first, for bounded().
    this.spentNonces.delete(nonce);
    this.spentNonces.set(nonce, now + ttlMs);
    bounded(this.spentNonces, this.maxEntries);
    return true;
  }
}

/** Drops the oldest entries (a Map iterates in insertion order) beyond max. */
function bounded(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
