import { loadConfig, readDefaults, type GatewayConfig } from '../../src/config/config.js';

/** Configuration for a gateway under test: loopback, any free HTTP port, one worker. */
export function testConfig(env: Record<string, string> = {}): GatewayConfig {
  return loadConfig(
    {
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      SIP_PORT: '0',
      RTP_LISTEN_IP: '127.0.0.1',
      ANNOUNCED_IP: '127.0.0.1',
      MEDIASOUP_WORKERS: '1',
      RTP_MIN_PORT: '42000',
      RTP_MAX_PORT: '42999',
      LOG_LEVEL: 'debug',
      // Lets SESSION_MIN_SE_SECONDS go below RFC 4028's 90 s floor, so a test can see a session expire.
      NODE_ENV: 'test',
      ...env,
    },
    readDefaults(),
  );
}
