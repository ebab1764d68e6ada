/**
 * A real Redis for the tests: TEST_REDIS_URL when given, else one on 127.0.0.1:6379 when
 * it answers, else a redis-server this module starts on a free port (and stops again).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeTcpPort } from './free-port.js';

export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

function answersPing(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

export async function startTestRedis(): Promise<TestRedis> {
  if (process.env.TEST_REDIS_URL) return { url: process.env.TEST_REDIS_URL, stop: async () => {} };
  if (await answersPing('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => {} };
  return spawnRedisServer();
}

export interface PrivateRedis extends TestRedis {
  /** Freezes the server (SIGSTOP): connections stay open and commands wait, as with a stalled Redis. */
  pause(): void;
  resume(): void;
  /** Kills the server (SIGKILL), as a crash would, and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill()), with what it had persisted. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * Keep data across a kill and restart: an append-only file synced on every write, as a
   * production Redis that must survive a crash is run. Default: nothing persisted.
   */
  readonly persistent?: boolean;
}

/** A private redis-server on a free loopback port, for tests that must stop, stall or crash it. */
export async function spawnRedisServer(options: RedisServerOptions = {}): Promise<PrivateRedis> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: run `bash scripts/setup.sh --test` (installs Debian redis-server)');
  }
  const port = await freeTcpPort();
  const dir = options.persistent ? mkdtempSync(join(tmpdir(), 'redis-')) : undefined;
  const persistence = dir ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let server = await launch(port, persistence);
  return {
    url: `redis://127.0.0.1:${port}`,
    pause: () => server.child.kill('SIGSTOP'),
    resume: () => server.child.kill('SIGCONT'),
    async kill() {
      server.child.kill('SIGKILL');
      await server.exited;
    },
    async restart() {
      server = await launch(port, persistence);
    },
    async stop() {
      server.child.kill('SIGCONT');
      server.child.kill('SIGTERM');
      await server.exited;
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(port: number, persistence: readonly string[]): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100 && !(await answersPing('127.0.0.1', port)); i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    await sleep(50);
  }
  if (!(await answersPing('127.0.0.1', port))) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${port}`);
  }
  return { child, exited };
}
