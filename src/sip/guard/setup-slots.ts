/**
 * SIP_MAX_SETUPS_PER_SOURCE and SIP_MAX_SETUPS_PER_CREDENTIAL: call set-ups in flight at
 * once from one source address, or with one credential, on this node. A set-up is
 * in flight from its INVITE until it is answered and running, or refused.
 */
export class SetupSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** A slot for key, or undefined when key already holds max; release() is idempotent. */
  take(key: string): (() => void) | undefined {
    const count = this.held.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.held.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }
}
