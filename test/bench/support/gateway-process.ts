/**
 * The gateway as a child process, so its CPU and memory (with its mediasoup workers,
 * which are its children) can be read from /proc apart from the benchmark's own. It runs the in-process drachtio stand-in (no
 * DRACHTIO_ADDRESS), so SIP reaches it on SIP_PORT directly.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freeTcpPort } from '../../support/free-port.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The arguments `npm start` gives node (its V8 flags, then dist/src/main.js): what a benchmark runs. */
export function npmStartArgs(): string[] {
  const { scripts } = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = scripts.start.split(' ');
  if (command !== 'node') throw new Error(`npm start runs ${command}, not node`);
  return args;
}

export interface GatewayProcess {
  readonly pid: number;
  readonly httpUrl: string;
  readonly sipPort: number;
  /** The last lines the gateway wrote (stdout and stderr), for failure reports. */
  readonly recentOutput: string[];
  /** Resolves when it exits; rejects never. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on loopback (SIP listens on both). */
export async function freeSipPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeTcpPort();
    const socket = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error('no port free for both UDP and TCP');
}

/**
 * The environment of a benchmarked gateway: loopback everywhere, the embedded drachtio
 * stand-in (no DRACHTIO_ADDRESS), memory store, one mediasoup worker, MD5 digests.
 */
export function benchGatewayEnv(httpPort: number, sipPort: number, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DRACHTIO_ADDRESS', 'REDIS_URL', 'API_TOKEN', 'NODE_OPTIONS']) delete env[name];
  return {
    ...env,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    SIP_PORT: String(sipPort),
    SIP_DOMAIN: '127.0.0.1',
    RTP_LISTEN_IP: '127.0.0.1',
    ANNOUNCED_IP: '127.0.0.1',
    RTP_MIN_PORT: '40000',
    RTP_MAX_PORT: '49999',
    MEDIASOUP_WORKERS: '1',
    SIP_DIGEST_ALGORITHMS: 'MD5',
    LOG_LEVEL: 'warn',
    // stop() sends SIGTERM: end whatever calls are left at once rather than drain them.
    DRAIN_SECONDS: '0',
    // The load comes from one address with few credentials, as from a carrier's trunk: trusted,
    // so SIP_MAX_REQUESTS_PER_SECOND and the set-up caps measure nothing but themselves.
    SIP_TRUSTED_SOURCES: '127.0.0.0/8',
    SIP_MAX_SETUPS_PER_CREDENTIAL: '10000',
    ...overrides,
  };
}

/**
 * `nodeArgs` go before the script (e.g. --cpu-prof, which Node 20 refuses in NODE_OPTIONS);
 * `imports` are modules (paths from the repository root) loaded into the gateway's process
 * (through tsx, as TypeScript) before the gateway, e.g. a benchmark's reporting hooks.
 * `code`: `built` runs what `npm start` runs, `dist/src/main.js` (benchmarks, which build
 * first: they measure what operators run); `source` runs src/main.ts through tsx (tests,
 * which run on an unbuilt checkout).
 */
export async function startGatewayProcess(
  env: Record<string, string>,
  onLine: (line: string) => void,
  nodeArgs: readonly string[] = [],
  imports: readonly string[] = [],
  code: 'built' | 'source' = 'source',
): Promise<GatewayProcess> {
  const httpPort = await freeTcpPort();
  const sipPort = await freeSipPort();
  const childEnv = benchGatewayEnv(httpPort, sipPort, { MAX_PARTICIPANTS: '50', EMPTY_ROOM_GRACE_SECONDS: '30', ...env });
  const preloads = imports.flatMap((path) => ['--import', pathToFileURL(`${REPO}${path}`).href]);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...(code === 'source' || preloads.length > 0 ? ['--import', 'tsx', ...preloads] : []), ...(code === 'built' ? npmStartArgs() : ['src/main.ts'])], {
    cwd: REPO,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recentOutput: string[] = [];
  const line = (text: string) => {
    if (!text.trim()) return;
    recentOutput.push(text);
    if (recentOutput.length > 50) recentOutput.shift();
    onLine(text);
  };
  // A read from a pipe may end inside a line (--trace-gc's output is block-buffered): the
  // unfinished end waits for the next read of the same stream.
  const lines = (stream: NodeJS.ReadableStream) => {
    stream.setEncoding('utf8');
    let unfinished = '';
    stream.on('data', (chunk: string) => {
      const parts = (unfinished + chunk).split('\n');
      unfinished = parts.pop()!;
      for (const part of parts) line(part);
    });
    stream.on('end', () => line(unfinished));
  };
  lines(child.stdout!);
  lines(child.stderr!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  // Whatever happens to the benchmark, the gateway does not outlive it.
  const killOnExit = () => {
    if (!hasExited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async () => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    process.off('exit', killOnExit);
  };

  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (hasExited) throw new Error(`the gateway exited during start-up:\n${recentOutput.join('\n')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the gateway was not ready within 60 s:\n${recentOutput.join('\n')}`);
    }
    const status = await fetch(`${httpUrl}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { pid: child.pid!, httpUrl, sipPort, recentOutput, exited, stop };
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The pid and its mediasoup workers: its direct children running mediasoup-worker. (tsx
 * also gives it an idle esbuild child, which is not the gateway's work.)
 */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // After the name: state, ppid, ...
    if (!fields || Number(fields[1]) !== pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('mediasoup-worker')) pids.push(Number(entry));
    } catch {
      // It exited meanwhile.
    }
  }
  return pids;
}

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory of a process, in MB (VmRSS). */
export function rssMB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export interface TreeSample {
  readonly atMs: number;
  /** CPU seconds per pid. */
  readonly cpu: ReadonlyMap<number, number>;
  readonly rssMB: number;
  readonly pids: readonly number[];
}

export function sampleTree(pid: number): TreeSample {
  const pids = processTree(pid);
  const cpu = new Map(pids.map((p) => [p, cpuSeconds(p)] as const));
  return { atMs: performance.now(), cpu, rssMB: pids.reduce((sum, p) => sum + rssMB(p), 0), pids };
}

/** Cores used between two samples, in total and for the first pid (the gateway's Node process). */
export function coresBetween(a: TreeSample, b: TreeSample, mainPid: number): { total: number; node: number } {
  const seconds = (b.atMs - a.atMs) / 1000;
  let total = 0;
  for (const [pid, cpu] of b.cpu) total += cpu - (a.cpu.get(pid) ?? 0);
  const node = (b.cpu.get(mainPid) ?? 0) - (a.cpu.get(mainPid) ?? 0);
  return { total: total / seconds, node: node / seconds };
}

/** Busy share of the whole machine between two /proc/stat readings, in cores. */
export function machineCores(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}
