/**
 * How much the fuzz tests run. `npm test` runs a few hundred cases per family with a fixed
 * seed, so a failure is the same on every run and machine; `npm run -s bench:fuzz` runs
 * tens of thousands (test/bench/fuzz.ts).
 */
export const FUZZ_SEED = 4475;

export const FUZZ_RUNS = {
  /** Cases per property on a parser or schema. */
  unit: 300,
  /** Cases per family sent to a running gateway. */
  wire: 150,
  /** Generated SDP offers in authenticated INVITEs (two round trips and maybe a call each). */
  wireCalls: 40,
} as const;

/**
 * The time a test allows one case: well above the 50 ms the benchmark holds the slowest case
 * to, so a loaded machine's pauses do not fail a test, while a case that hangs or
 * backtracks still does.
 */
export const SLOW_CASE_MS = 500;
