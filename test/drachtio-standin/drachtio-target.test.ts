/** The target selection helper: the stand-in by default, a real drachtio-server when the environment names one. */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';

const NAMES = ['DRACHTIO_SERVER_BIN', 'TEST_DRACHTIO_ADDRESS', 'TEST_DRACHTIO_SECRET', 'TEST_SIP_ADDRESS'] as const;
const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));

/** The real server this machine has: the one CI names, else the one ../shared holds. */
const SHARED_SERVER = fileURLToPath(new URL('../../../shared/drachtio-server/drachtio', import.meta.url));
const realServer = saved.DRACHTIO_SERVER_BIN ?? (existsSync(SHARED_SERVER) ? SHARED_SERVER : undefined);

function clearTargetVariables(): void {
  for (const name of NAMES) delete process.env[name];
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterEach(() => {
  for (const name of NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('drachtioTarget', () => {
  it('points at a real drachtio-server when all three variables are set, without starting anything', async () => {
    clearTargetVariables();
    process.env.TEST_DRACHTIO_ADDRESS = '10.1.2.3:9022';
    process.env.TEST_DRACHTIO_SECRET = 'cymru';
    process.env.TEST_SIP_ADDRESS = '[::1]:5070';
    const target = await drachtioTarget();
    expect(usingRealDrachtio()).toBe(true);
    expect(target).toMatchObject({ adminAddress: { host: '10.1.2.3', port: 9022 }, secret: 'cymru', sipAddress: { host: '::1', port: 5070 }, standin: undefined });
    await target.close();
  });

  it('refuses a partial configuration', async () => {
    clearTargetVariables();
    process.env.TEST_DRACHTIO_ADDRESS = '127.0.0.1:9022';
    await expect(drachtioTarget()).rejects.toThrow(/TEST_DRACHTIO_SECRET and TEST_SIP_ADDRESS/);
  });

  it('starts the stand-in on ephemeral ports otherwise', async () => {
    clearTargetVariables();
    const target = await drachtioTarget();
    try {
      expect(usingRealDrachtio()).toBe(false);
      expect(target.standin).toBeDefined();
      expect(target.adminAddress.port).not.toBe(9022);
      expect(target.sipAddress.port).not.toBe(5060);
    } finally {
      await target.close();
    }
  });

  it('says why when DRACHTIO_SERVER_BIN names a binary that does not start', async () => {
    clearTargetVariables();
    process.env.DRACHTIO_SERVER_BIN = '/bin/false';
    await expect(drachtioTarget()).rejects.toThrow(/drachtio-server \/bin\/false exited with 1/);
  });
});

describe.runIf(realServer)('drachtioTarget with DRACHTIO_SERVER_BIN (the real drachtio-server)', () => {
  it('starts one server per call on its own free ports and stops it on close', async () => {
    clearTargetVariables();
    process.env.DRACHTIO_SERVER_BIN = realServer;
    const [first, second] = await Promise.all([drachtioTarget(), drachtioTarget()]);
    expect(usingRealDrachtio()).toBe(true);
    expect(first.standin).toBeUndefined();
    expect(new Set([first.adminAddress.port, first.sipAddress.port, second.adminAddress.port, second.sipAddress.port]).size).toBe(4);
    expect(await accepts(first.adminAddress.port)).toBe(true);
    await Promise.all([first.close(), second.close()]);
    expect(await accepts(first.adminAddress.port)).toBe(false);
    expect(await accepts(second.adminAddress.port)).toBe(false);
  });
});

describe.skipIf(realServer)('drachtioTarget with DRACHTIO_SERVER_BIN (skipped: no real drachtio-server here, neither DRACHTIO_SERVER_BIN nor ../shared/drachtio-server/drachtio)', () => {
  it.todo('starts one server per call on its own free ports and stops it on close');
});
