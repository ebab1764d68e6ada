/** The target selection helper: the stand-in by default, a real drachtio-server when the environment names one. */
import { afterEach, describe, expect, it } from 'vitest';
import { drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';

const NAMES = ['TEST_DRACHTIO_ADDRESS', 'TEST_DRACHTIO_SECRET', 'TEST_SIP_ADDRESS'] as const;

describe('drachtioTarget', () => {
  const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('points at a real drachtio-server when all three variables are set, without starting anything', async () => {
    process.env.TEST_DRACHTIO_ADDRESS = '10.1.2.3:9022';
    process.env.TEST_DRACHTIO_SECRET = 'cymru';
    process.env.TEST_SIP_ADDRESS = '[::1]:5070';
    const target = await drachtioTarget();
    expect(usingRealDrachtio()).toBe(true);
    expect(target).toMatchObject({ adminAddress: { host: '10.1.2.3', port: 9022 }, secret: 'cymru', sipAddress: { host: '::1', port: 5070 }, standin: undefined });
    await target.close();
  });

  it('refuses a partial configuration', async () => {
    process.env.TEST_DRACHTIO_ADDRESS = '127.0.0.1:9022';
    delete process.env.TEST_DRACHTIO_SECRET;
    await expect(drachtioTarget()).rejects.toThrow(/TEST_DRACHTIO_SECRET and TEST_SIP_ADDRESS/);
  });

  it('starts the stand-in on ephemeral ports otherwise', async () => {
    for (const name of NAMES) delete process.env[name];
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
});
