/**
 * The running gateway: every long-lived component, started in dependency order and
 * closed in reverse. main.ts and the end-to-end tests both start it through here.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from './config/config.js';
import { buildHttpApp } from './http/app.js';
import type { ReadinessCheck } from './http/readiness.js';
import type { Logger } from './logger.js';
import { WorkerPool } from './media/worker-pool.js';
import { openStore } from './store/open-store.js';
import type { GatewayStore } from './store/store.js';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly store: GatewayStore;
  readonly workers: WorkerPool;
  readonly http: FastifyInstance;
  /** Where the HTTP server listens, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, log: Logger): Promise<Gateway> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  log.info({ config }, 'configuration');
  try {
    const store = await openStore(config.redisUrl, log);
    closers.push(() => store.close());

    const workers = await WorkerPool.create(
      { size: config.mediasoupWorkers, rtcMinPort: config.rtpMinPort, rtcMaxPort: config.rtpMaxPort },
      log,
    );
    closers.push(() => workers.close());

    const readiness: ReadinessCheck[] = [
      { name: 'store', check: async () => void (await store.ping()) },
      { name: 'mediasoup', check: () => workers.problem() },
    ];
    const http = await buildHttpApp({ log, readiness });
    closers.push(() => http.close());
    const httpUrl = await http.listen({ host: config.httpHost, port: config.httpPort });

    log.info({ httpUrl, sipDomain: config.sipDomain }, 'gateway started');
    return { config, store, workers, http, httpUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}
