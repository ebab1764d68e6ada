/**
 * Replay protection for digest credentials (RFC 7616 §3.4 nonce-count): every reuse of a
 * nonce must carry a higher nc than any request before it. Kept behind an interface so
 * several nodes can share the counts (Redis) as they share the nonce secret.
 */
export interface NonceCountStore {
  /**
   * Records nc for nonce. true when nc is greater than every count seen for that nonce
   * (the request is fresh), false for a replay or a count that went backwards.
   * The record may be forgotten ttlMs after the last claim.
   */
  claim(nonce: string, nc: number, ttlMs: number): Promise<boolean>;
}

export interface MemoryNonceCountStoreOptions {
  /** Refuses new nonces beyond this many (fail closed: the caller re-challenges). Default 100 000. */
  readonly maxNonces?: number;
  /** How often expired records are swept; default 30 s. */
  readonly sweepIntervalMs?: number;
  readonly now?: () => number;
}

interface CountRecord {
  nc: number;
  expiresAt: number;
}

/** One node's nonce counts. Claims happen only after a correct response, so growth is bounded by real callers. */
export class MemoryNonceCountStore implements NonceCountStore {
  private readonly records = new Map<string, CountRecord>();
  private readonly maxNonces: number;
  private readonly sweepIntervalMs: number;
  private readonly now: () => number;
  private nextSweepAt: number;

  constructor(options: MemoryNonceCountStoreOptions = {}) {
    this.maxNonces = options.maxNonces ?? 100_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.nextSweepAt = this.now() + this.sweepIntervalMs;
  }

  async claim(nonce: string, nc: number, ttlMs: number): Promise<boolean> {
    const now = this.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    const record = this.records.get(nonce);
    if (record && record.expiresAt > now) {
      if (nc <= record.nc) return false;
      record.nc = nc;
      record.expiresAt = now + ttlMs;
      return true;
    }
    if (!record && this.records.size >= this.maxNonces) {
      this.sweep(now);
      if (this.records.size >= this.maxNonces) return false;
    }
    this.records.set(nonce, { nc, expiresAt: now + ttlMs });
    return true;
  }

  private sweep(now: number): void {
    for (const [nonce, record] of this.records) {
      if (record.expiresAt <= now) this.records.delete(nonce);
    }
    this.nextSweepAt = now + this.sweepIntervalMs;
  }
}
