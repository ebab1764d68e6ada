/**
 * The attackers' own tools against the gateway on its default SIP security settings,
 * through drachtio (the stand-in, or the real drachtio-server with DRACHTIO_SERVER_BIN):
 * Debian's sipvicious (svmap, svwar, svcrack) and a guesser that takes a fresh challenge
 * for every guess. Scanners are banned on sight by their User-Agent; with that list
 * emptied, a guesser is banned after SIP_AUTH_MAX_FAILURES and never reaches the
 * password, its later requests get no answer at all, and the ban is shared through Redis
 * (drachtio-server's blacklist set included) until DELETE /api/sip/bans lifts it.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDefaults } from '../../src/config/config.js';
import type { Gateway } from '../../src/gateway.js';
import { newSrf, route } from '../../src/sip/srf.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { drachtioServerBinary, startDrachtioServer } from '../support/sip/drachtio-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';

/** The product's SIP security defaults, which testConfig lifts for the other tests. */
const DEFAULT_LIMITS = Object.fromEntries(
  ['SIP_AUTH_MAX_FAILURES', 'SIP_MAX_REQUESTS_PER_SECOND', 'SIP_MAX_SETUPS_PER_SOURCE', 'SIP_MAX_SETUPS_PER_CREDENTIAL'].map((key) => [key, String(readDefaults()[key])]),
);
const MAX_FAILURES = Number(DEFAULT_LIMITS.SIP_AUTH_MAX_FAILURES);
const MEETING = 'attacked';
const BLACKLIST_KEY = 'drachtio-blacklist';

const home = mkdtempSync(join(tmpdir(), 'sipvicious-'));

afterAll(() => rmSync(home, { recursive: true, force: true }));

/**
 * How long a banned tool keeps going before it is stopped: svcrack over INVITE never gives
 * up on its own against drachtio, whose 100 Trying to each of its INVITEs counts as an
 * answer to it, so once banned it only floods (every request dropped, no challenge to
 * guess against) until killed.
 */
const RUN_AFTER_BAN_MS = 5000;
const BAN_POLL_MS = 250;

/**
 * Runs one of the attackers' tools until it gives up, or for at most ms; with `banned`,
 * until it has been banned for RUN_AFTER_BAN_MS. Its whole output.
 */
async function runTool(command: string, args: readonly string[], ms: number, banned?: () => Promise<boolean>): Promise<string> {
  // Its own HOME: sipvicious keeps session files under ~/.sipvicious.
  const child = spawn(command, args, { cwd: home, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let running = true;
  const exited = once(child, 'exit').finally(() => (running = false));
  const stop = setTimeout(() => child.kill('SIGKILL'), ms);
  if (banned) {
    while (running && !(await banned())) await Promise.race([exited, sleep(BAN_POLL_MS)]);
    if (running) await Promise.race([exited, sleep(RUN_AFTER_BAN_MS).then(() => child.kill('SIGKILL'))]);
  }
  await exited;
  clearTimeout(stop);
  // Its last second of requests counts against 127.0.0.1's SIP_MAX_REQUESTS_PER_SECOND: let that second pass.
  await sleep(1100);
  return output;
}

/** A dictionary of wrong guesses with the right password at position (1-based) `at`. */
function dictionary(password: string, at: number, size: number): string {
  const words = Array.from({ length: size }, (_, i) => `guess${i}x${(i * 7919) % 1000}`);
  words[at - 1] = password;
  const file = join(home, `words-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, `${words.join('\n')}\n`);
  return file;
}

interface Scene {
  readonly target: DrachtioTarget;
  readonly gateway: Gateway;
  readonly log: ReturnType<typeof capturedLogger>;
  readonly redis: PrivateRedis;
  readonly redisClient: Redis;
}

async function startScene(env: Record<string, string>, rtpPorts: [number, number]): Promise<Scene> {
  const target = await drachtioTarget();
  const redis = await spawnRedisServer();
  const redisClient = new Redis(redis.url);
  const log = capturedLogger('debug');
  const gateway = await startSipTestGateway(
    target,
    { ...DEFAULT_LIMITS, REDIS_URL: redis.url, DRACHTIO_BLACKLIST_KEY: BLACKLIST_KEY, RTP_MIN_PORT: String(rtpPorts[0]), RTP_MAX_PORT: String(rtpPorts[1]), ...env },
    log.log,
  );
  await gateway.meetings.create({ id: MEETING });
  return { target, gateway, log, redis, redisClient };
}

async function stopScene(scene: Scene | undefined): Promise<void> {
  await scene?.gateway.close();
  await scene?.target.close();
  await scene?.redisClient.quit();
  await scene?.redis.stop();
}

const bans = async (gateway: Gateway) =>
  ((await (await fetch(`${gateway.httpUrl}/api/sip/bans`)).json()) as { bans: Array<{ address: string; failures: number; reason: string }> }).bans;

const lift = (gateway: Gateway, address: string) => fetch(`${gateway.httpUrl}/api/sip/bans/${address}`, { method: 'DELETE' });

const sipTarget = (scene: Scene) => ({ host: scene.target.sipAddress.host, port: String(scene.target.sipAddress.port) });

describe('scanners, on the defaults: banned on sight by their User-Agent', () => {
  let scene: Scene;

  beforeAll(async () => {
    scene = await startScene({}, [45400, 45499]);
  }, 60_000);

  afterAll(() => stopScene(scene), 60_000);

  it('svmap finds no SIP server, and its address is banned', { timeout: 60_000 }, async () => {
    const { host, port } = sipTarget(scene);
    const output = await runTool('svmap', ['-p', port, host], 20_000);
    expect(output).not.toContain(`${host}:${port}`);
    expect(await bans(scene.gateway)).toEqual([expect.objectContaining({ address: '127.0.0.1', failures: 0, reason: 'scanner User-Agent (friendly-scanner)' })]);
    expect(await scene.redisClient.smembers(BLACKLIST_KEY)).toEqual(['127.0.0.1']);
    expect((await lift(scene.gateway, '127.0.0.1')).status).toBe(204);
    expect(await scene.redisClient.smembers(BLACKLIST_KEY)).toEqual([]);
  });

  it('svwar learns no extension', { timeout: 60_000 }, async () => {
    const { host, port } = sipTarget(scene);
    const output = await runTool('svwar', ['-m', 'INVITE', '-e', '100-120', '--domain', `${host}:${port}`, '-p', port, host], 30_000);
    expect(output).not.toMatch(/\|\s*\d+\s*\|\s*(reqauth|noauth)/);
    expect(await bans(scene.gateway)).toEqual([expect.objectContaining({ address: '127.0.0.1', reason: 'scanner User-Agent (friendly-scanner)' })]);
    expect((await lift(scene.gateway, '127.0.0.1')).status).toBe(204);
  });

  it('svcrack never finds the password', { timeout: 60_000 }, async () => {
    const { host, port } = sipTarget(scene);
    const credential = await scene.gateway.sipCredentials.create({ meetingId: MEETING });
    const words = dictionary(credential.password, 3, 50);
    const output = await runTool('svcrack', ['-u', credential.username, '-d', words, '-m', 'INVITE', '--domain', `${MEETING}@${host}:${port}`, '-p', port, host], 20_000, async () => (await bans(scene.gateway)).length > 0);
    expect(output).not.toContain(credential.password);
    expect(scene.gateway.sip.calls.size).toBe(0);
    expect(await bans(scene.gateway)).toEqual([expect.objectContaining({ address: '127.0.0.1' })]);
    expect((await lift(scene.gateway, '127.0.0.1')).status).toBe(204);
  });
});

describe('guessers, with the scanner list emptied: banned after SIP_AUTH_MAX_FAILURES', () => {
  let scene: Scene;

  beforeAll(async () => {
    scene = await startScene({ SIP_SCANNER_USER_AGENTS: '' }, [45500, 45599]);
  }, 60_000);

  afterAll(() => stopScene(scene), 60_000);

  it('svcrack with the password 200th of 300 is banned after the limit and never finds it', { timeout: 60_000 }, async () => {
    const { host, port } = sipTarget(scene);
    const credential = await scene.gateway.sipCredentials.create({ meetingId: MEETING });
    const words = dictionary(credential.password, 200, 300);
    const output = await runTool('svcrack', ['-u', credential.username, '-d', words, '-m', 'INVITE', '--domain', `${MEETING}@${host}:${port}`, '-p', port, host], 20_000, async () => (await bans(scene.gateway)).length > 0);
    expect(output).not.toContain(credential.password);
    expect(scene.gateway.sip.calls.size).toBe(0);
    const [ban] = await bans(scene.gateway);
    expect(ban).toMatchObject({ address: '127.0.0.1', reason: `${MAX_FAILURES} failed authentications in 300 s` });
    expect(await scene.redisClient.smembers(BLACKLIST_KEY)).toEqual(['127.0.0.1']);
    const banLines = scene.log.lines().filter((line) => line.msg === 'SIP source banned');
    expect(banLines).toEqual([expect.objectContaining({ level: 40, address: '127.0.0.1', failures: MAX_FAILURES })]);
    expect(scene.log.text()).not.toContain(credential.password);
    expect((await lift(scene.gateway, '127.0.0.1')).status).toBe(204);
  });

  it('a guesser taking a fresh challenge per guess gets SIP_AUTH_MAX_FAILURES answers, then none, and never the password', { timeout: 60_000 }, async () => {
    const credential = await scene.gateway.sipCredentials.create({ meetingId: MEETING });
    const guesses = Array.from({ length: 20 }, (_, i) => (i === MAX_FAILURES + 2 ? credential.password : `wrong-${i}`));
    const bansBefore = scene.gateway.sip.guard.counters().bans;
    const peer = await SipPeer.udp(scene.target.sipAddress);
    const answers: string[] = [];
    try {
      for (const password of guesses) {
        const caller = new SipCaller(peer, `sip:${MEETING}@${scene.target.sipAddress.host}:${scene.target.sipAddress.port}`);
        caller.invite({ body: PCMU_OFFER(30000) });
        const challenge = await peer.next(isResponse(401), 2000).catch(() => undefined);
        if (!challenge) {
          answers.push('no answer');
          break;
        }
        caller.ackFailure(challenge);
        caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, { username: credential.username, password }) });
        const final = await peer.next(isFinalResponse, 2000);
        caller.ackFailure(final);
        answers.push(firstLine(final.text));
      }
      expect(answers).toEqual([...Array.from({ length: MAX_FAILURES }, () => 'SIP/2.0 403 Wrong Credentials'), 'no answer']);
      // Dropped means silent: not even a final answer within the caller's own transaction timeout, only drachtio's 100 Trying.
      const silent = new SipCaller(peer, `sip:${MEETING}@${scene.target.sipAddress.host}:${scene.target.sipAddress.port}`);
      silent.invite({ body: PCMU_OFFER(30000) });
      expect((await peer.collect(3000, isFinalResponse)).length).toBe(0);
    } finally {
      await peer.close();
    }
    expect(scene.gateway.sip.calls.size).toBe(0);
    expect(scene.gateway.sip.guard.counters().bans).toBe(bansBefore + 1);
    expect((await lift(scene.gateway, '127.0.0.1')).status).toBe(204);
    // Lifted: the owner gets in again from here, with the right password.
    const owner = await SipPeer.udp(scene.target.sipAddress);
    try {
      const caller = new SipCaller(owner, `sip:${MEETING}@${scene.target.sipAddress.host}:${scene.target.sipAddress.port}`);
      caller.invite({ body: PCMU_OFFER(30000) });
      const challenge = await owner.next(isResponse(401));
      caller.ackFailure(challenge);
      caller.invite({ body: PCMU_OFFER(30000), authorization: caller.authorization(challenge, credential) });
      const answered = await owner.next(isFinalResponse, 5000);
      expect(firstLine(answered.text)).toBe('SIP/2.0 200 OK');
      caller.inDialog(answered, 'ACK');
      caller.inDialog(answered, 'BYE');
      await owner.next(isResponse(200, 'BYE'));
      await until(() => scene.gateway.sip.calls.size === 0, 3000, 'the call ended');
    } finally {
      await owner.close();
    }
  });
});

/** An OPTIONS sent from `from` (a loopback address of its own); the first line of the answer, or undefined after waitMs. */
async function optionsFrom(from: string, to: { host: string; port: number }, waitMs = 1500): Promise<string | undefined> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  const { port } = socket.address();
  const uri = `sip:probe@${to.host}:${to.port}`;
  const answer = new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), waitMs);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(data.toString('utf8').split('\r\n')[0]);
    });
  });
  const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
  socket.send(
    [`OPTIONS ${uri} SIP/2.0`, `Via: SIP/2.0/UDP ${from}:${port};rport;branch=${branch}`, 'Max-Forwards: 70', `From: <sip:probe@${from}>;tag=${branch}`,
      `To: <${uri}>`, `Call-ID: ${branch}@test`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
    to.port,
    to.host,
  );
  const line = await answer;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return line;
}

// What the README says of DRACHTIO_BLACKLIST_KEY, checked against the real server's binary.
describe.skipIf(!drachtioServerBinary())('drachtio-server and its --blacklist-redis-key set', () => {
  it('drops the addresses the set holds when it starts, and never learns of one added later, whatever --blacklist-refresh-secs says', { timeout: 60_000 }, async () => {
    const redis = await spawnRedisServer();
    const client = new Redis(redis.url);
    const srf = newSrf();
    let server: Awaited<ReturnType<typeof startDrachtioServer>> | undefined;
    try {
      await client.sadd(BLACKLIST_KEY, '127.0.0.3');
      const redisPort = new URL(redis.url).port;
      server = await startDrachtioServer(drachtioServerBinary()!, 'cymru', undefined, [
        '--blacklist-redis-address', '127.0.0.1', '--blacklist-redis-port', redisPort, '--blacklist-redis-key', BLACKLIST_KEY, '--blacklist-refresh-secs', '1',
      ]);
      route(srf, 'options', (_request, response) => response.send(200, 'OK'));
      const connected = new Promise<void>((resolve) => srf.on('connect', () => resolve()));
      srf.connect({ host: server.adminAddress.host, port: server.adminAddress.port, secret: server.secret });
      await connected;
      await sleep(1000);
      expect(await optionsFrom('127.0.0.3', server.sipAddress)).toBeUndefined();
      expect(await optionsFrom('127.0.0.2', server.sipAddress)).toBe('SIP/2.0 200 OK');
      await client.sadd(BLACKLIST_KEY, '127.0.0.2');
      // Three refresh periods later the server still answers the address added after its start.
      await sleep(3000);
      expect(await optionsFrom('127.0.0.2', server.sipAddress)).toBe('SIP/2.0 200 OK');
    } finally {
      srf.disconnect();
      await server?.stop();
      await client.quit();
      await redis.stop();
    }
  });
});
