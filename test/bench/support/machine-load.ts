/**
 * How busy the machine is, from /proc/stat: benchmarks on a 2-core box are only worth
 * reading when nothing else (another benchmark, a test run) competes for the CPU, so
 * they wait for a quiet machine and report the CPU used by anything else during a run.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const CLOCK_TICKS = 100;

/** Busy and total CPU seconds of the whole machine since boot (all cores). */
export function machineCpu(): { busySeconds: number; totalSeconds: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busySeconds: busy / CLOCK_TICKS, totalSeconds: (busy + idle! + iowait!) / CLOCK_TICKS };
}

/** CPU seconds used so far by the processes a benchmark is measuring (itself, its gateway…). */
export type OwnCpu = () => number;

/**
 * Percent of one core (2 cores fully busy = 200) the machine spent over `ms` on anything
 * but what `ownCpu` counts.
 */
export async function foreignBusyPercent(ms: number, ownCpu: OwnCpu = () => 0): Promise<number> {
  const before = machineCpu();
  const ownBefore = ownCpu();
  const wallBefore = performance.now();
  await sleep(ms);
  const after = machineCpu();
  const own = ownCpu() - ownBefore;
  return (100 * (after.busySeconds - before.busySeconds - own)) / ((performance.now() - wallBefore) / 1000);
}

/** CPU seconds (user + system) of a process, from /proc; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** The same for a process's main thread alone (its other threads, media threads among them, left out). */
export function mainThreadCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(path: string): number {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state(0) … utime(11) stime(12).
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The benchmark process's own CPU seconds. */
export const selfCpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/**
 * Waits (up to `maxWaitMs`) until the machine is nearly idle apart from `ownCpu` (under
 * `thresholdPercent` of one core busy), saying what it waits for; resolves with the last reading.
 */
export async function waitForQuietMachine(
  say: (line: string) => void,
  options: { thresholdPercent?: number; maxWaitMs?: number; ownCpu?: OwnCpu } = {},
): Promise<number> {
  const threshold = options.thresholdPercent ?? 25;
  const deadline = Date.now() + (options.maxWaitMs ?? 180_000);
  const measure = (ms: number) => foreignBusyPercent(ms, options.ownCpu ?? selfCpuSeconds);
  let reading = await measure(1000);
  let told = false;
  while (reading > threshold && Date.now() < deadline) {
    if (!told) {
      say(
        `[bench] the machine (${cpus().length} cores) is busy with something else (${reading.toFixed(0)}% of a core); ` +
          `waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for it to finish so the numbers mean something`,
      );
      told = true;
    }
    reading = await measure(2000);
  }
  if (reading > threshold) say(`[bench] WARNING: still ${reading.toFixed(0)}% of a core busy with other work; results are pessimistic`);
  else if (told) say(`[bench] machine quiet (${reading.toFixed(0)}% of a core busy); starting`);
  return reading;
}
