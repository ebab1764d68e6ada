import type { Redis } from 'ioredis';

/** One field of one Redis hash. */
interface HashField {
  readonly hash: string;
  readonly field: string;
}

/**
 * What this node wrote about its own live calls and participants, so it can put Redis
 * right after losing it: a record whose removal failed while Redis was away is removed
 * once Redis is back, and the records still live are written again (a Redis restarted
 * without persistence, or a failover to an empty replica, lost them).
 */
export class OwnedRecords {
  private readonly live = new Map<string, HashField & { json: string }>();
  private readonly removals = new Map<string, HashField>();

  put(hash: string, field: string, json: string): void {
    const key = keyOf(hash, field);
    this.removals.delete(key);
    this.live.set(key, { hash, field, json });
  }

  /** The record is no longer live; removeFailed() when Redis did not take the removal. */
  removed(hash: string, field: string): void {
    this.live.delete(keyOf(hash, field));
  }

  removeFailed(hash: string, field: string): void {
    this.removals.set(keyOf(hash, field), { hash, field });
  }

  get pendingRemovals(): number {
    return this.removals.size;
  }

  /** Writes every live record and the removals still owed, in one transaction. */
  async replay(redis: Redis): Promise<{ restored: number; removed: number }> {
    const live = [...this.live.values()];
    const removals = [...this.removals];
    if (live.length === 0 && removals.length === 0) return { restored: 0, removed: 0 };
    const multi = redis.multi();
    for (const { hash, field, json } of live) multi.hset(hash, field, json);
    for (const [, { hash, field }] of removals) multi.hdel(hash, field);
    await multi.exec();
    // Removals that failed again while this ran stay owed.
    for (const [key, removal] of removals) if (this.removals.get(key) === removal) this.removals.delete(key);
    return { restored: live.length, removed: removals.length };
  }
}

function keyOf(hash: string, field: string): string {
  return `${hash}\u0000${field}`;
}
