import { withTimeout } from '../timeout.js';

/** One component /readyz asks: undefined when it is ready, otherwise what is wrong. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<string | undefined> | string | undefined;
  /** Shown in the detail but never makes the node unready (a trunk's registration). */
  readonly advisory?: boolean;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** name → "ok" or what is down. */
  readonly checks: Record<string, string>;
  /** "name: why" for each component that makes the node unready. */
  readonly down: string[];
}

export async function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check, advisory = false }) => {
      try {
        const problem = await withTimeout(Promise.resolve(check()), timeoutMs, `${name} check`);
        return [name, problem ?? 'ok', advisory] as const;
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err), advisory] as const;
      }
    }),
  );
  const down = results.filter(([, status, advisory]) => status !== 'ok' && !advisory).map(([name, status]) => `${name}: ${status}`);
  return { ready: down.length === 0, down, checks: Object.fromEntries(results.map(([name, status]) => [name, status])) };
}
