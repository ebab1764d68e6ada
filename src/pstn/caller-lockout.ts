/**
 * Rate limiting of wrong IVR entries per calling number: a caller who keeps guessing
 * meeting ids or PINs, over however many calls, is turned away for a while. The count
 * lives in the store, so every node sees the same caller's failures.
 */
import type { GatewayStore } from '../store/store.js';

export interface LockoutPolicy {
  /** Wrong entries from one number within the window that lock it out. */
  readonly failures: number;
  readonly windowMs: number;
}

export const IVR_LOCKOUT: LockoutPolicy = { failures: 10, windowMs: 15 * 60_000 };

export class CallerLockout {
  constructor(
    private readonly store: Pick<GatewayStore, 'getCounter' | 'incrementCounter'>,
    private readonly policy: LockoutPolicy = IVR_LOCKOUT,
  ) {}

  async isLockedOut(caller: string): Promise<boolean> {
    return (await this.store.getCounter(key(caller))) >= this.policy.failures;
  }

  /** Counts one wrong entry; true when the caller is now locked out. */
  async recordFailure(caller: string): Promise<boolean> {
    return (await this.store.incrementCounter(key(caller), this.policy.windowMs)) >= this.policy.failures;
  }
}

function key(caller: string): string {
  return `ivr-failures:${caller}`;
}
