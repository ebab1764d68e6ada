import { inject } from 'vitest';
import { type Gateway, startGateway } from '../../src/gateway.js';
import type { Logger } from '../../src/logger.js';
import { capturedLogger } from './log-capture.js';
import { testConfig } from './test-config.js';
import type { DrachtioTarget } from './sip/drachtio-target.js';

/** A real gateway (memory store unless REDIS_URL is given) for one test file, serving the page bundled for this run. */
export async function startTestGateway(env: Record<string, string> = {}, log: Logger = capturedLogger().log): Promise<Gateway> {
  return startGateway(testConfig(env), log, { webAssetsDir: inject('webAssetsDir') });
}

/**
 * A real gateway connected to the drachtio target (stand-in or real drachtio-server),
 * resolved once /readyz says the SIP front end is connected.
 */
export async function startSipTestGateway(
  target: DrachtioTarget,
  env: Record<string, string> = {},
  log: Logger = capturedLogger().log,
): Promise<Gateway> {
  const gateway = await startTestGateway(
    {
      DRACHTIO_ADDRESS: `${target.adminAddress.host}:${target.adminAddress.port}`,
      DRACHTIO_SECRET: target.secret,
      SIP_DOMAIN: target.sipAddress.host,
      ...env,
    },
    log,
  );
  for (let i = 0; (await fetch(`${gateway.httpUrl}/readyz`)).status !== 200; i++) {
    if (i === 400) {
      await gateway.close();
      throw new Error('the gateway did not connect to drachtio within 10 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return gateway;
}
