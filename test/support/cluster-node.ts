/**
 * A gateway node of a test cluster, in this process: bound to a loopback address of its own
 * (its SIP too, on the stand-in; a real drachtio-server's where TEST_DRACHTIO_* or
 * DRACHTIO_SERVER_BIN says so), sharing Redis, the SIP domain and the cluster secret with
 * the other nodes, with one media thread.
 */
import type { Gateway } from '../../src/gateway.js';
import { freeTcpPort } from './free-port.js';
import { startSipTestGateway } from './gateway.js';
import { type DrachtioTarget, drachtioTarget } from './sip/drachtio-target.js';

export interface ClusterNode {
  readonly ip: string;
  readonly target: DrachtioTarget;
  readonly gateway: Gateway;
}

export interface ClusterNodeOptions {
  readonly redisUrl: string;
  readonly clusterSecret: string;
  readonly rtpPorts: readonly [number, number];
  /** More configuration, over the shared one. */
  readonly env?: Record<string, string>;
}

export async function startClusterNode(ip: string, { redisUrl, clusterSecret, rtpPorts, env = {} }: ClusterNodeOptions): Promise<ClusterNode> {
  const target = await drachtioTarget({ sipHost: ip });
  const port = await freeTcpPort(ip);
  const gateway = await startSipTestGateway(target, {
    REDIS_URL: redisUrl,
    SIP_DOMAIN: 'cluster.test',
    SIP_CLUSTER_SECRET: clusterSecret,
    HTTP_HOST: ip,
    HTTP_PORT: String(port),
    PUBLIC_URL: `http://${ip}:${port}`,
    RTP_LISTEN_IP: ip,
    ANNOUNCED_IP: ip,
    RTP_MIN_PORT: String(rtpPorts[0]),
    RTP_MAX_PORT: String(rtpPorts[1]),
    MEDIA_THREADS: '1',
    ...env,
  });
  return { ip, target, gateway };
}
