/** Percentiles and summaries of latency samples (ms) for the benchmarks' reports. */

/** The q-quantile (0..1) by nearest rank; NaN for no samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => quantile(sorted, q);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** Rounds to 0.01 ms for the JSON result. */
export const ms2 = (value: number) => Math.round(value * 100) / 100;

export function formatSummary(s: Summary): string {
  const f = (v: number) => v.toFixed(2);
  return `n=${s.n} min=${f(s.min)} p50=${f(s.p50)} p90=${f(s.p90)} p99=${f(s.p99)} max=${f(s.max)} mean=${f(s.mean)} ms`;
}
