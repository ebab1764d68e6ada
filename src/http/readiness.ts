import { withTimeout } from '../timeout.js';

/** One component /readyz asks: undefined when it is ready, otherwise what is wrong. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<string | undefined> | string | undefined;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** name → "ok" or what is down. */
  readonly checks: Record<string, string>;
}

export async function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        const problem = await withTimeout(Promise.resolve(check()), timeoutMs, `${name} check`);
        return [name, problem ?? 'ok'] as const;
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err)] as const;
      }
    }),
  );
  return { ready: results.every(([, status]) => status === 'ok'), checks: Object.fromEntries(results) };
}
