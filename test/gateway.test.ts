import { afterEach, describe, expect, inject, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, readDefaults } from '../src/config/config.js';
import { type Gateway, type GatewayOptions, startGateway } from '../src/gateway.js';
import type { Logger } from '../src/logger.js';
import { callLogger } from '../src/logger.js';
import { capturedLogger } from './support/log-capture.js';
import { spawnRedisServer, type TestRedis } from './support/redis-server.js';

const SECRETS = {
  API_TOKEN: 'api-token-0123456789abcdef',
  DRACHTIO_SECRET: 'drachtio-secret-4242',
  SIP_NONCE_SECRET: 'nonce-secret-0123456789',
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-5150',
};

function testConfig(env: Record<string, string> = {}) {
  return loadConfig(
    { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', SIP_PORT: '0', RTP_LISTEN_IP: '127.0.0.1', MEDIASOUP_WORKERS: '2', RTP_MIN_PORT: '41200', RTP_MAX_PORT: '41299', LOG_LEVEL: 'debug', ...SECRETS, ...env },
    readDefaults(),
  );
}

/** Serves the page bundled for this test run (test/setup/web-assets.ts). */
function start(config: ReturnType<typeof testConfig>, log: Logger, options: GatewayOptions = { webAssetsDir: inject('webAssetsDir') }) {
  return startGateway(config, log, options);
}

async function readyz(gateway: Gateway): Promise<{ status: number; body: { status: string; down?: string[]; checks: Record<string, string> } }> {
  const response = await fetch(`${gateway.httpUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

/** The SIP front end connects in the background; readiness follows once it has. */
async function untilReady(gateway: Gateway): Promise<void> {
  for (let i = 0; i < 200 && (await readyz(gateway)).status !== 200; i++) await sleep(25);
}

describe('the gateway, started for real', () => {
  let gateway: Gateway | undefined;
  let redis: TestRedis | undefined;
  afterEach(async () => {
    await gateway?.close();
    await redis?.stop();
    gateway = undefined;
    redis = undefined;
  });

  it('is healthy and ready with the embedded store and real mediasoup workers', async () => {
    gateway = await start(testConfig(), capturedLogger().log);
    expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    await untilReady(gateway);
    expect(await readyz(gateway)).toEqual({ status: 200, body: { status: 'ready', checks: { store: 'ok', mediasoup: 'ok', sip: 'ok', calls: 'ok', trunks: 'ok' } } });
  });

  it('reports SIP down while drachtio-server cannot be reached', async () => {
    gateway = await start(testConfig({ DRACHTIO_ADDRESS: '127.0.0.1:1' }), capturedLogger().log);
    const report = await readyz(gateway);
    expect(report.status).toBe(503);
    expect(report.body.down).toEqual(['sip: not connected to drachtio-server']);
  });

  it('reports mediasoup down while a killed worker is being replaced, then ready again', async () => {
    gateway = await start(testConfig(), capturedLogger().log);
    await untilReady(gateway);
    process.kill(gateway.workers.workers[0]!.pid, 'SIGKILL');
    let report = await readyz(gateway);
    for (let i = 0; i < 100 && report.status === 200; i++) {
      await sleep(10);
      report = await readyz(gateway);
    }
    expect(report.status).toBe(503);
    expect(report.body.down).toEqual(['mediasoup: 1 of 2 mediasoup workers running']);
    for (let i = 0; i < 200 && report.status !== 200; i++) {
      await sleep(25);
      report = await readyz(gateway);
    }
    expect(report.status).toBe(200);
  });

  it('uses Redis when REDIS_URL is set and reports the store down when Redis stops', async () => {
    redis = await spawnRedisServer();
    gateway = await start(testConfig({ REDIS_URL: redis.url }), capturedLogger().log);
    await untilReady(gateway);
    expect((await readyz(gateway)).status).toBe(200);
    expect(await gateway.store.createMeeting({ id: 'shared', title: 't', createdAt: 1 })).toBe(true);

    await redis.stop();
    redis = undefined;
    const report = await readyz(gateway);
    expect(report.status).toBe(503);
    expect(report.body.down?.[0]).toMatch(/^store: /);
  });

  it('refuses to start when REDIS_URL points at nothing, leaving no worker behind', async () => {
    const { log } = capturedLogger();
    await expect(start(testConfig({ REDIS_URL: 'redis://127.0.0.1:1' }), log)).rejects.toThrow();
  });

  it('warns once at start-up, naming DRACHTIO_ADDRESS, that it runs the drachtio stand-in instead of drachtio-server', async () => {
    const { log, lines } = capturedLogger();
    gateway = await start(testConfig(), log);
    const warnings = lines().filter((line) => line.level === 40 && String(line.msg).includes('drachtio'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/^DRACHTIO_ADDRESS is not set: running the embedded drachtio-server stand-in/);
  });

  it('does not warn about the stand-in when DRACHTIO_ADDRESS names a drachtio-server', async () => {
    const { log, lines } = capturedLogger();
    gateway = await start(testConfig({ DRACHTIO_ADDRESS: '127.0.0.1:1' }), log);
    expect(lines().filter((line) => String(line.msg).includes('stand-in'))).toEqual([]);
  });

  it('refuses to start, saying to run npm run build, when the meeting page was not built', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'gateway-no-page-'));
    try {
      const failure = await start(testConfig(), capturedLogger().log, { webAssetsDir: emptyDir }).then(
        async (started) => {
          await started.close();
          return new Error('the gateway started');
        },
        (error: unknown) => error as Error,
      );
      expect(failure.message).toContain(`web asset meeting.html is missing in ${emptyDir}`);
      expect(failure.message).toContain('build it with npm run build');
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });

  it('closes once however often close() is called, and whenClosed() settles when it has', async () => {
    gateway = await start(testConfig(), capturedLogger().log);
    const closed = gateway.whenClosed();
    const first = gateway.close();
    expect(gateway.close('draining')).toBe(first);
    await closed;
    expect(gateway.close()).toBe(first);
    expect(gateway.workers.workers.every((worker) => worker.closed)).toBe(true);
  });

  it('never writes a secret to the log', async () => {
    const { log, text } = capturedLogger('trace');
    redis = await spawnRedisServer();
    const redisWithPassword = redis.url.replace('redis://', 'redis://:not-used-pw-77@');
    gateway = await start(testConfig(), log);
    const call = callLogger(log, { callId: 'call-1', meetingId: 'm-1' });
    call.info({ password: 'sip-password-xyz', credential: { ha1: 'ha1-abcdef', ha1Sha256: 'ha1-sha-123' } }, 'credential checked');
    call.info({ headers: { authorization: 'Digest response="resp-999"' } }, 'request');
    call.info({ headers: { 'proxy-authorization': 'Digest response="resp-proxy-555"', 'x-twilio-signature': 'sig-header-31' } }, 'SIP request');
    call.info({ req: { headers: { 'x-twilio-signature': 'sig-header-32' } }, digest: { response: 'resp-field-777' }, pin: '99887766', signature: 'sig-field-42' }, 'webhook');
    log.info({ config: { redisUrl: redisWithPassword } }, 'configuration');
    await fetch(`${gateway.httpUrl}/readyz`, { headers: { authorization: `Bearer ${SECRETS.API_TOKEN}` } });

    const output = text();
    expect(output).toContain('"msg":"configuration"');
    expect(output).toContain('"callId":"call-1","meetingId":"m-1"');
    for (const secret of [...Object.values(SECRETS), 'sip-password-xyz', 'ha1-abcdef', 'ha1-sha-123', 'resp-999', 'not-used-pw-77', 'resp-proxy-555', 'sig-header-31', 'sig-header-32', 'resp-field-777', '99887766', 'sig-field-42']) {
      expect(output).not.toContain(secret);
    }
  });
});
