/**
 * The SIP edges a benchmark can put in front of the gateway: the embedded drachtio
 * stand-in (what `npm start` runs on its defaults) and, when its binary is there, the real
 * drachtio-server (DRACHTIO_SERVER_BIN, else ../shared/drachtio-server/drachtio from the
 * project root), started on free loopback ports with the gateway connected to it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DrachtioServer, startDrachtioServer } from '../../support/sip/drachtio-server.js';
import { ChildGateway, type ChildGatewayOptions, REPO_ROOT } from './child-gateway.js';

export type EdgeName = 'drachtio-standin' | 'drachtio-server';

export interface Edge {
  readonly name: EdgeName;
  readonly gateway: ChildGateway;
  /** Where phones send SIP (UDP). */
  readonly sip: { host: string; port: number };
  stop(): Promise<void>;
}

/** The real drachtio-server binary, or undefined when neither DRACHTIO_SERVER_BIN nor ../shared has one. */
export function drachtioServerBin(): string | undefined {
  if (process.env.DRACHTIO_SERVER_BIN) return resolve(process.env.DRACHTIO_SERVER_BIN);
  const shared = join(REPO_ROOT, '..', 'shared', 'drachtio-server', 'drachtio');
  return existsSync(shared) ? shared : undefined;
}

export async function startEdge(name: EdgeName, options: Pick<ChildGatewayOptions, 'inspect' | 'nodeArgs' | 'logFile'> = {}): Promise<Edge> {
  if (name === 'drachtio-standin') {
    const gateway = await ChildGateway.start(options);
    return { name, gateway, sip: { host: '127.0.0.1', port: gateway.sipPort }, stop: () => gateway.stop() };
  }
  const binary = drachtioServerBin();
  if (!binary) throw new Error('no drachtio-server binary: set DRACHTIO_SERVER_BIN or put it at ../shared/drachtio-server/drachtio');
  const server: DrachtioServer = await startDrachtioServer(binary, 'bench-drachtio-secret');
  try {
    const gateway = await ChildGateway.start({
      ...options,
      env: { DRACHTIO_ADDRESS: `${server.adminAddress.host}:${server.adminAddress.port}`, DRACHTIO_SECRET: server.secret },
    });
    return {
      name,
      gateway,
      sip: server.sipAddress,
      stop: async () => {
        await gateway.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
