/**
 * Composition root: configuration, logging, the gateway, and an orderly shutdown. The
 * first SIGTERM drains (new calls refused, live ones go on for at most DRAIN_SECONDS), a
 * second one, or SIGINT, ends everything at once. However the gateway closes (a drain
 * started by POST /api/admin/drain too), the process then exits 0.
 */
import './media/use-worker-binary.js';
import { ConfigError } from './config/config-error.js';
import { loadConfig } from './config/config.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  let gateway;
  try {
    gateway = await startGateway(config, log);
  } catch (err) {
    log.fatal({ reason: err instanceof Error ? err.message : String(err) }, 'gateway failed to start');
    process.exit(1);
  }

  gateway.whenClosed().then(
    () => {
      log.info('gateway closed');
      process.exit(0);
    },
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
  const closeNow = (signal: string) => {
    log.info({ signal }, 'shutting down now: ending every call');
    void gateway.close('shutdown').catch(() => undefined);
  };
  process.once('SIGINT', () => closeNow('SIGINT'));
  let sigterms = 0;
  process.on('SIGTERM', () => {
    if (++sigterms > 1) return closeNow('SIGTERM');
    log.info({ signal: 'SIGTERM' }, 'draining on SIGTERM; a second SIGTERM ends every call at once');
    gateway.drain();
  });
}

await main();
