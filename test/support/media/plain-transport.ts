/**
 * The fixture of the PlainTransport tests: a real mediasoup worker (a pool of one, on the
 * test file's own port range) and a UDP socket on loopback that plays the phone (or the
 * relay between two transports), with PlainTransports listening on loopback.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { types } from 'mediasoup';
import { ROUTER_CODECS } from '../../../src/media/codecs/router-codecs.js';
import { WorkerPool } from '../../../src/media/worker-pool.js';
import { capturedLogger } from '../log-capture.js';

export type LoopbackPlainTransportOptions = Pick<types.PlainTransportOptions, 'comedia' | 'rtcpMux' | 'enableSrtp' | 'srtpCryptoSuite'>;

export class PlainTransportFixture {
  private constructor(
    readonly pool: WorkerPool,
    /** Bound to 127.0.0.1 on a free port. */
    readonly socket: Socket,
  ) {}

  static async start(ports: { readonly rtcMinPort: number; readonly rtcMaxPort: number }): Promise<PlainTransportFixture> {
    const pool = await WorkerPool.create({ size: 1, ...ports }, capturedLogger().log);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new PlainTransportFixture(pool, socket);
  }

  router(mediaCodecs: types.RouterRtpCodecCapability[] = ROUTER_CODECS): Promise<types.Router> {
    return this.pool.leastLoaded().createRouter({ mediaCodecs });
  }

  /** Closes the worker (and with it every router and transport) and the socket. */
  async close(): Promise<void> {
    this.pool.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** A PlainTransport of `router` listening on loopback UDP. */
export function loopbackPlainTransport(router: types.Router, options: LoopbackPlainTransportOptions = {}): Promise<types.PlainTransport> {
  return router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, ...options });
}
