/**
 * The real Kamailio (Debian `kamailio`) running config/kamailio/kamailio.cfg as the SIP
 * front of gateway nodes: as the current user, with its own runtime folder and a
 * dispatcher.list of the given nodes, on a loopback address and port of the test's. The
 * binary is KAMAILIO_BIN when set (e.g. a copy unpacked from the .deb, whose modules and
 * libraries sit beside it under the same prefix), else `kamailio` on PATH.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildExit } from '../child-exit.js';
import { findExecutable } from '../phone/find-executable.js';
import type { HostPort } from './drachtio-target.js';

const CONFIG = fileURLToPath(new URL('../../../config/kamailio/kamailio.cfg', import.meta.url));

export interface KamailioOptions {
  /** Where it listens (UDP and TCP). */
  readonly sip: HostPort;
  /** The nodes' SIP addresses, dispatcher set 1. */
  readonly nodes: readonly HostPort[];
  readonly probeIntervalSeconds: number;
  readonly inviteTimeoutMs: number;
}

export interface Kamailio {
  /** Everything it logged (stderr), for failure reports and for what it did. */
  readonly output: string[];
  stop(): Promise<void>;
}

/** The module and library folders of a Kamailio installed under another prefix than /usr (unpacked from the .deb). */
function besideBinary(binary: string): { modules?: string; libraries?: string } {
  const lib = join(dirname(dirname(binary)), 'lib');
  if (!existsSync(lib)) return {};
  for (const multiarch of readdirSync(lib)) {
    const libraries = join(lib, multiarch, 'kamailio');
    if (existsSync(join(libraries, 'modules', 'dispatcher.so'))) return { modules: join(libraries, 'modules'), libraries };
  }
  return {};
}

export async function startKamailio(options: KamailioOptions): Promise<Kamailio> {
  const binary = process.env.KAMAILIO_BIN ?? (await findExecutable('kamailio', 'kamailio'));
  const dir = mkdtempSync(join(tmpdir(), 'kamailio-'));
  const list = join(dir, 'dispatcher.list');
  writeFileSync(list, options.nodes.map(({ host, port }) => `1 sip:${host}:${port}\n`).join(''));
  const { modules, libraries } = besideBinary(binary);
  const { host, port } = options.sip;
  const args = [
    '-f', CONFIG,
    // In the foreground, logging to stderr, 64 MB of shared memory, its runtime files (pid, FIFOs) in the test's folder.
    '-DD', '-E', '-m', '64', '-M', '8', '-Y', dir, '-P', join(dir, 'kamailio.pid'),
    '-A', `SIP_LISTEN_UDP=udp:${host}:${port}`,
    '-A', `SIP_LISTEN_TCP=tcp:${host}:${port}`,
    '-A', `DISPATCHER_LIST="${list}"`,
    '-A', `PROBE_INTERVAL=${options.probeIntervalSeconds}`,
    '-A', `INVITE_TIMEOUT_MS=${options.inviteTimeoutMs}`,
    ...(modules ? ['-L', modules] : []),
  ];
  const env = { ...process.env, ...(libraries && { LD_LIBRARY_PATH: libraries }) };
  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exit = new ChildExit(child);
  const stop = async () => {
    if (exit.code === undefined) {
      // SIGTERM to the main process ends its children too.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit.done;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Up once it answers an OPTIONS to itself (its keep-alive answer).
  const deadline = Date.now() + 15_000;
  while (!(await answersOptions(options.sip))) {
    if (exit.code !== undefined || Date.now() > deadline) {
      await stop();
      throw new Error(`kamailio did not come up:\n${output.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { output, stop };
}

/** Whether an OPTIONS to the address itself gets a 200 within 500 ms. */
async function answersOptions(target: HostPort): Promise<boolean> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  const request = [
    `OPTIONS sip:${target.host}:${target.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=z9hG4bK${randomUUID().slice(0, 12)}`,
    'Max-Forwards: 70',
    `From: <sip:test@127.0.0.1>;tag=${randomUUID().slice(0, 8)}`,
    `To: <sip:${target.host}:${target.port}>`,
    `Call-ID: ${randomUUID()}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 500);
      socket.on('message', (data) => {
        clearTimeout(timer);
        resolve(data.toString('utf8').startsWith('SIP/2.0 200'));
      });
      socket.send(request, target.port, target.host);
    });
  } finally {
    socket.close();
  }
}
