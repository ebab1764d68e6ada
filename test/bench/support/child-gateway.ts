/**
 * The gateway as a child process, run as `npm start` runs it (`node <its flags> dist/src/main.js`):
 * free loopback ports, the embedded drachtio stand-in on SIP_PORT, ready once /readyz
 * answers 200. Its output goes to our stderr (the benchmarks keep stdout for their
 * result line). stop() ends it with SIGTERM, then SIGKILL, and also takes down its
 * mediasoup worker (the whole process group, which only this child and its worker are in).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from '../../support/free-port.js';
import { benchGatewayEnv, freeSipPort, npmStartArgs } from './gateway-process.js';
import { mainThreadCpuSeconds, processCpuSeconds } from './machine-load.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChildGatewayOptions {
  /** Environment on top of the benchmark defaults (which follow the README's loopback set-up). */
  readonly env?: Record<string, string>;
  /** Run the gateway with the V8 inspector on a free loopback port, for CPU profiles of chosen windows. */
  readonly inspect?: boolean;
  readonly readyTimeoutMs?: number;
  /** Every line the gateway prints also goes to this file (for reading a run's gateway log afterwards). */
  readonly logFile?: string;
  /** Node options for the gateway's process (e.g. --trace-gc, whose lines go to logFile only). */
  readonly nodeArgs?: readonly string[];
}

export interface ProcessCpu {
  /** user+system CPU seconds so far: the gateway's Node process (all its threads), its main thread, its mediasoup workers. */
  readonly gatewaySeconds: number;
  readonly mainThreadSeconds: number;
  readonly workerSeconds: number;
}

export class ChildGateway {
  private exited: Promise<void>;
  private warnLines = 0;
  /** The inspector's WebSocket URL, when started with `inspect`. */
  inspectorUrl: string | undefined;
  private readonly firstWarnLines: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly httpUrl: string,
    readonly sipPort: number,
    private readonly inspecting: boolean,
    logFile: string | undefined,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    if (logFile) {
      const log = createWriteStream(logFile);
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      void this.exited.then(() => log.end());
    }
    const relay = (prefix: string) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(line);
        if (inspector) this.inspectorUrl = inspector[1];
        // The inspector's own lines (listening, attached, ending, help) are not the gateway's output.
        if (inspector || /^(Debugger attached\.|Debugger ending on |Waiting for the debugger to disconnect|For help, see: https:\/\/nodejs\.org\/)/.test(line)) continue;
        // --trace-gc's lines ([pid:isolate] ... ms: Scavenge ...) are not the gateway's log.
        if (/^\[\d+:0x[0-9a-f]+\]/.test(line)) continue;
        this.warnLines++;
        if (this.firstWarnLines.length < 10) this.firstWarnLines.push(line.slice(0, 400));
        if (this.warnLines <= 20) process.stderr.write(`[gateway ${prefix}] ${line}\n`);
        else if (this.warnLines === 21) process.stderr.write('[gateway] (further gateway output counted, not shown)\n');
      }
    };
    child.stdout!.on('data', relay('out'));
    child.stderr!.on('data', relay('err'));
  }

  /** Starts the gateway and resolves once it is ready. */
  static async start(options: ChildGatewayOptions = {}): Promise<ChildGateway> {
    const httpPort = await freeTcpPort();
    const sipPort = await freeSipPort();
    const env = benchGatewayEnv(httpPort, sipPort, { MAX_PARTICIPANTS: '1000', ...options.env });
    const inspect = options.inspect ? ['--inspect=127.0.0.1:0'] : [];
    const child = spawn(process.execPath, [...inspect, ...(options.nodeArgs ?? []), ...npmStartArgs()], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stop() reaches the mediasoup worker too.
      detached: true,
    });
    const gateway = new ChildGateway(child, `http://127.0.0.1:${httpPort}`, sipPort, options.inspect === true, options.logFile);
    killOnExit(gateway);
    try {
      await gateway.waitReady(options.readyTimeoutMs ?? 60_000);
    } catch (err) {
      await gateway.stop();
      throw err;
    }
    return gateway;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The gateway's output lines (warn and above) so far, and the first few of them. */
  get output(): { lines: number; first: readonly string[] } {
    return { lines: this.warnLines, first: this.firstWarnLines };
  }

  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.httpUrl}/api${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} /api${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** CPU time used by the gateway's Node process and its mediasoup worker(s), from /proc. */
  cpu(): ProcessCpu {
    const workers = childPids(this.pid);
    return {
      gatewaySeconds: processCpuSeconds(this.pid),
      mainThreadSeconds: mainThreadCpuSeconds(this.pid),
      workerSeconds: workers.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    };
  }

  /** SIGTERM (the gateway closes its calls and exits), then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.killGroup('SIGKILL');
    this.child.kill('SIGTERM');
    const exitedInTime = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!exitedInTime) process.stderr.write('[bench] gateway did not exit after SIGTERM; SIGKILL\n');
    this.killGroup('SIGKILL');
    await Promise.race([this.exited, sleep(2000)]);
    // The worker notices its parent is gone; make sure of it.
    await sleep(100);
  }

  private killGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`the gateway exited with code ${this.child.exitCode} before it was ready`);
      if (this.inspecting && !this.inspectorUrl) {
        await sleep(50);
        continue;
      }
      try {
        const response = await fetch(`${this.httpUrl}/readyz`);
        if (response.status === 200) return;
        last = `${response.status} ${await response.text()}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`the gateway was not ready within ${timeoutMs} ms (last /readyz: ${last})`);
  }
}

const running = new Set<ChildGateway>();
let hooksInstalled = false;

/** A benchmark that dies (error, Ctrl-C, timeout's SIGTERM) must not leave the gateway behind. */
function killOnExit(gateway: ChildGateway): void {
  running.add(gateway);
  gateway.child.once('exit', () => running.delete(gateway));
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const g of running) {
      try {
        process.kill(-g.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
