import { loadConfig, readDefaults, type GatewayConfig } from '../../src/config/config.js';

/**
 * Every test's SIP client is 127.0.0.1, so the product's per-source limits would make the
 * tests of a file (wrong passwords, bursts of calls) ban or throttle each other. They are
 * lifted for tests (and for bench:fuzz's gateway, which must still go through the SIP guard);
 * the tests of the limits themselves (test/e2e/sip-attack-tools.test.ts, test/sip/guard/) set
 * the defaults back.
 */
export const LIFTED_SIP_LIMITS = {
  SIP_AUTH_MAX_FAILURES: '1000000',
  SIP_MAX_REQUESTS_PER_SECOND: '1000000',
  SIP_MAX_SETUPS_PER_SOURCE: '10000',
  SIP_MAX_SETUPS_PER_CREDENTIAL: '10000',
} as const;

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
      ...LIFTED_SIP_LIMITS,
      ...env,
    },
    readDefaults(),
  );
}
