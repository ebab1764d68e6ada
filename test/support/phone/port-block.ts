/**
 * A block of loopback ports for one baresip instance: SIP, control and an RTP range.
 * Blocks live below 32768, outside Linux's ephemeral range, so the kernel never hands
 * them to someone else's outgoing connection. A lock file per block (created with O_EXCL)
 * keeps parallel test workers in other processes apart; binding every port proves nothing
 * outside the harness holds one.
 */
import { createSocket } from 'node:dgram';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PhonePorts {
  readonly sip: number;
  readonly control: number;
  /** Inclusive range; baresip puts RTCP on RTP + 1, which stays inside the block. */
  readonly rtpMin: number;
  readonly rtpMax: number;
}

export interface PortBlock {
  readonly ports: PhonePorts;
  release(): Promise<void>;
}

const BLOCK_SIZE = 32;
const FIRST_PORT = 10_000;
const END_PORT = 32_768;
const ATTEMPTS = 40;
const LOCK_DIR = join(tmpdir(), 'baresip-harness-ports');

export async function reservePortBlock(): Promise<PortBlock> {
  await mkdir(LOCK_DIR, { recursive: true });
  const blocks = Math.floor((END_PORT - FIRST_PORT) / BLOCK_SIZE);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const base = FIRST_PORT + Math.floor(Math.random() * blocks) * BLOCK_SIZE;
    const lock = join(LOCK_DIR, `${base}.lock`);
    if (!(await takeLock(lock))) continue;
    if (await allFree(base)) {
      return {
        // base + 1 is taken: baresip listens for SIP over TLS on the SIP port + 1.
        ports: { sip: base, control: base + 2, rtpMin: base + 4, rtpMax: base + BLOCK_SIZE - 2 },
        release: () => rm(lock, { force: true }),
      };
    }
    await rm(lock, { force: true });
  }
  throw new Error(`no free block of ${BLOCK_SIZE} loopback ports in ${FIRST_PORT}-${END_PORT - 1} after ${ATTEMPTS} tries`);
}

/** Creates the lock file, taking it over when the process that wrote it is gone. */
export async function takeLock(path: string): Promise<boolean> {
  try {
    const file = await open(path, 'wx');
    await file.writeFile(String(process.pid));
    await file.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number(await readFile(path, 'utf8').catch(() => ''));
  if (owner > 0 && processAlive(owner)) return false;
  await rm(path, { force: true });
  return takeLock(path);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function allFree(base: number): Promise<boolean> {
  const probes: Promise<boolean>[] = [];
  for (let port = base; port < base + BLOCK_SIZE; port++) probes.push(udpFree(port));
  for (let port = base; port < base + 3; port++) probes.push(tcpFree(port)); // SIP over TCP and TLS, control
  return (await Promise.all(probes)).every(Boolean);
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
