import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, readDefaults } from '../../src/config/config.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';

const defaults = readDefaults();
const load = (env: Record<string, string>) => loadConfig(env, defaults);

describe('loadConfig', () => {
  it('starts from the embedded defaults in config/default.json', () => {
    const config = load({});
    expect(config).toMatchObject({
      httpPort: defaults.HTTP_PORT,
      sipPort: defaults.SIP_PORT,
      sipDomain: defaults.SIP_DOMAIN,
      drachtioAddress: undefined,
      redisUrl: undefined,
      apiToken: undefined,
      rtpMinPort: defaults.RTP_MIN_PORT,
      rtpMaxPort: defaults.RTP_MAX_PORT,
      rtpComedia: true,
      mediaThreads: 0,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lets environment variables override every default', () => {
    const config = load({
      HTTP_PORT: '9000',
      SIP_DOMAIN: 'SIP.Example.com',
      SIP_PORT: '5080',
      DRACHTIO_ADDRESS: 'drachtio:9022',
      DRACHTIO_SECRET: 'hush',
      RTP_MIN_PORT: '20000',
      RTP_MAX_PORT: '20010',
      ANNOUNCED_IP: '203.0.113.7',
      REDIS_URL: 'redis://redis:6379/0',
      API_TOKEN: 'abcdefghijklmnopqrstuvwxyz',
      LOG_LEVEL: 'debug',
      MEDIASOUP_WORKERS: '3',
      MEDIA_THREADS: '2',
      RTP_COMEDIA: 'false',
    });
    expect(config).toMatchObject({
      httpPort: 9000,
      sipDomain: 'sip.example.com',
      sipPort: 5080,
      drachtioAddress: { host: 'drachtio', port: 9022 },
      drachtioSecret: 'hush',
      rtpMinPort: 20000,
      rtpMaxPort: 20010,
      announcedIp: '203.0.113.7',
      redisUrl: 'redis://redis:6379/0',
      apiToken: 'abcdefghijklmnopqrstuvwxyz',
      logLevel: 'debug',
      mediasoupWorkers: 3,
      mediaThreads: 2,
      rtpComedia: false,
    });
  });

  it('reads SIP_SRTP, optional by default, and names the choices on a bad value', () => {
    expect(load({}).sipSrtp).toBe('optional');
    expect(load({ SIP_SRTP: 'required' }).sipSrtp).toBe('required');
    expect(() => load({ SIP_SRTP: 'yes' })).toThrow(/SIP_SRTP="yes" is invalid; expected one of off, optional, required/);
  });

  it('reads RTP_COMEDIA as a switch and names the key when it is neither true nor false', () => {
    expect(load({ RTP_COMEDIA: 'off' }).rtpComedia).toBe(false);
    expect(load({ RTP_COMEDIA: 'YES' }).rtpComedia).toBe(true);
    expect(() => load({ RTP_COMEDIA: 'maybe' })).toThrow(/RTP_COMEDIA="maybe" is invalid; expected true or false/);
  });

  it('takes session timer settings, with RFC 4028\'s 90 s floor except under NODE_ENV=test', () => {
    expect(load({})).toMatchObject({ sessionMinSESeconds: 90, sessionExpiresSeconds: 1800 });
    expect(load({ SESSION_MIN_SE_SECONDS: '120', SESSION_EXPIRES_SECONDS: '600' })).toMatchObject({ sessionMinSESeconds: 120, sessionExpiresSeconds: 600 });
    expect(() => load({ SESSION_MIN_SE_SECONDS: '2' })).toThrow(/SESSION_MIN_SE_SECONDS="2" is invalid; expected an integer from 90 to 86400/);
    expect(load({ NODE_ENV: 'test', SESSION_MIN_SE_SECONDS: '2', SESSION_EXPIRES_SECONDS: '4' })).toMatchObject({ sessionMinSESeconds: 2, sessionExpiresSeconds: 4 });
    expect(() => load({ NODE_ENV: 'test', SESSION_MIN_SE_SECONDS: '1' })).toThrow(/SESSION_MIN_SE_SECONDS="1" is invalid; expected an integer from 2 to 86400/);
    expect(() => load({ SESSION_MIN_SE_SECONDS: '600', SESSION_EXPIRES_SECONDS: '300' })).toThrow(
      /SESSION_EXPIRES_SECONDS="300" is invalid; expected an integer from SESSION_MIN_SE_SECONDS \(600\) to 86400/,
    );
    expect(() => load({ SESSION_EXPIRES_SECONDS: 'long' })).toThrow(/SESSION_EXPIRES_SECONDS="long" is invalid/);
  });

  it('proxies calls for another node\'s meeting by default, with no cluster secret until one is set', () => {
    expect(load({})).toMatchObject({ sipClusterMode: 'proxy', sipClusterSecret: undefined });
    expect(load({ SIP_CLUSTER_MODE: 'redirect', SIP_CLUSTER_SECRET: 'a-cluster-secret-16+' })).toMatchObject({ sipClusterMode: 'redirect', sipClusterSecret: 'a-cluster-secret-16+' });
  });

  it('reads MEETING_LEASE_SECONDS, 15 s by default, and names its range on a bad value', () => {
    expect(load({}).meetingLeaseMs).toBe(15_000);
    expect(load({ MEETING_LEASE_SECONDS: '5' }).meetingLeaseMs).toBe(5000);
    expect(() => load({ MEETING_LEASE_SECONDS: '0' })).toThrow(/MEETING_LEASE_SECONDS="0" is invalid; expected an integer from 1 to 3600/);
    expect(() => load({ MEETING_LEASE_SECONDS: 'soon' })).toThrow(/MEETING_LEASE_SECONDS="soon" is invalid/);
  });

  it('reads an IPv6 DRACHTIO_ADDRESS in brackets', () => {
    expect(load({ DRACHTIO_ADDRESS: '[::1]:9022' }).drachtioAddress).toEqual({ host: '::1', port: 9022 });
  });

  it.each([
    ['HTTP_PORT', 'abc', /HTTP_PORT="abc" is invalid; expected an integer from 0 \(any free port\) to 65535/],
    ['HTTP_PORT', '70000', /HTTP_PORT="70000" is invalid/],
    ['HTTP_PORT', '', /HTTP_PORT is missing; expected an integer from 0 \(any free port\) to 65535/],
    ['SIP_PORT', '-1', /SIP_PORT="-1" is invalid; expected an integer/],
    ['SIP_DOMAIN', 'not a domain', /SIP_DOMAIN="not a domain" is invalid; expected a host name or IP address/],
    ['SIP_DOMAIN', '', /SIP_DOMAIN is missing/],
    ['DRACHTIO_ADDRESS', 'drachtio', /DRACHTIO_ADDRESS="drachtio" is invalid; expected host:port/],
    ['DRACHTIO_ADDRESS', 'drachtio:0', /DRACHTIO_ADDRESS="drachtio:0" is invalid/],
    ['RTP_MIN_PORT', '80', /RTP_MIN_PORT="80" is invalid; expected an integer from 1024 to 65535/],
    ['ANNOUNCED_IP', 'example.com', /ANNOUNCED_IP="example.com" is invalid; expected an IPv4 or IPv6 address/],
    ['RTP_LISTEN_IP', '1.2.3', /RTP_LISTEN_IP="1.2.3" is invalid/],
    ['REDIS_URL', 'http://redis', /REDIS_URL is invalid \(value hidden\); expected a redis:\/\/ or rediss:\/\/ URL/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud" is invalid; expected one of fatal, error, warn, info, debug, trace, silent/],
    ['MEDIASOUP_WORKERS', '100', /MEDIASOUP_WORKERS="100" is invalid; expected an integer from 0 \(one per CPU core\) to 64/],
    ['MEDIA_THREADS', '65', /MEDIA_THREADS="65" is invalid; expected an integer from 0 \(one per CPU core\) to 64/],
    ['MEDIA_THREADS', 'two', /MEDIA_THREADS="two" is invalid/],
    ['PUBLIC_URL', 'ftp://x', /PUBLIC_URL="ftp:\/\/x" is invalid; expected an http\(s\) URL/],
    ['PUBLIC_URL', 'https://gw.example.com/', /PUBLIC_URL=.* is invalid; expected an http\(s\) URL without a trailing slash/],
    ['SIP_CODECS', 'PCMU,GSM', /SIP_CODECS="PCMU,GSM" is invalid; expected a comma-separated list of PCMU, PCMA, G722, opus/],
    ['SIP_CODECS', 'PCMU,PCMU', /SIP_CODECS="PCMU,PCMU" is invalid/],
    ['SIP_DIGEST_ALGORITHMS', 'SHA-1', /SIP_DIGEST_ALGORITHMS="SHA-1" is invalid; expected a comma-separated list of SHA-256, MD5 \(each at most once, strongest first: SHA-256 before MD5\)/],
    ['SIP_DIGEST_ALGORITHMS', 'MD5,MD5', /SIP_DIGEST_ALGORITHMS="MD5,MD5" is invalid; expected .*each at most once/],
    ['SIP_DIGEST_ALGORITHMS', 'MD5,SHA-256', /SIP_DIGEST_ALGORITHMS="MD5,SHA-256" is invalid; expected .*strongest first: SHA-256 before MD5/],
    ['SIP_DIGEST_ALGORITHMS', 'md5', /SIP_DIGEST_ALGORITHMS="md5" is invalid/],
    ['SIP_DIGEST_ALGORITHMS', 'MD5,', /SIP_DIGEST_ALGORITHMS="MD5," is invalid/],
    ['SIP_NONCE_SECRET', 'short', /SIP_NONCE_SECRET is invalid \(value hidden\); expected a secret of at least 16/],
    ['SIP_CLUSTER_SECRET', 'short', /SIP_CLUSTER_SECRET is invalid \(value hidden\); expected a secret of at least 16/],
    ['SIP_CLUSTER_MODE', 'b2bua', /SIP_CLUSTER_MODE="b2bua" is invalid; expected one of proxy, redirect/],
    ['API_TOKEN', 'short', /API_TOKEN is invalid \(value hidden\); expected a secret of at least 16 printable characters/],
    ['METRICS_TOKEN', 'short', /METRICS_TOKEN is invalid \(value hidden\); expected a secret of at least 16 printable characters/],
    ['SIP_MAX_SETUPS_IN_FLIGHT', '0', /SIP_MAX_SETUPS_IN_FLIGHT="0" is invalid; expected an integer from 1 to 10000/],
    ['SIP_MAX_MEDIA_LOAD_PERCENT', '0.5', /SIP_MAX_MEDIA_LOAD_PERCENT="0.5" is invalid; expected an integer from 1 to 100/],
    ['SIP_MAX_MEDIA_LOAD_PERCENT', '101', /SIP_MAX_MEDIA_LOAD_PERCENT="101" is invalid/],
    ['SIP_RETRY_AFTER_SECONDS', '0', /SIP_RETRY_AFTER_SECONDS="0" is invalid; expected an integer from 1 to 3600/],
    ['WEB_ASSETS_DIR', 'dist/public', /WEB_ASSETS_DIR="dist\/public" is invalid; expected an absolute path/],
    ['DRAIN_SECONDS', '-5', /DRAIN_SECONDS="-5" is invalid; expected an integer from 0 to 86400/],
    ['RTP_TIMEOUT_SECONDS', '1.5', /RTP_TIMEOUT_SECONDS="1.5" is invalid; expected an integer from 0 to 86400/],
    ['RTP_HOLD_TIMEOUT_SECONDS', 'never', /RTP_HOLD_TIMEOUT_SECONDS="never" is invalid; expected an integer from 0 to 86400/],
    ['MAX_CALL_SECONDS', '-1', /MAX_CALL_SECONDS="-1" is invalid; expected an integer from 0 to 604800/],
    ['SIP_AUTH_MAX_FAILURES', '0', /SIP_AUTH_MAX_FAILURES="0" is invalid; expected an integer from 1 to 1000000/],
    ['SIP_AUTH_WINDOW_SECONDS', '5m', /SIP_AUTH_WINDOW_SECONDS="5m" is invalid; expected an integer from 1 to 86400/],
    ['SIP_BAN_SECONDS', '0', /SIP_BAN_SECONDS="0" is invalid; expected an integer from 1 to 2592000/],
    ['SIP_MAX_REQUESTS_PER_SECOND', '0', /SIP_MAX_REQUESTS_PER_SECOND="0" is invalid/],
    ['SIP_MAX_SETUPS_PER_SOURCE', '-1', /SIP_MAX_SETUPS_PER_SOURCE="-1" is invalid/],
    ['SIP_MAX_SETUPS_PER_CREDENTIAL', 'x', /SIP_MAX_SETUPS_PER_CREDENTIAL="x" is invalid/],
    ['SIP_TRUSTED_SOURCES', '203.0.113.0/33', /SIP_TRUSTED_SOURCES="203.0.113.0\/33" is invalid; expected a comma-separated list of IPv4 or IPv6 networks in CIDR notation/],
    ['SIP_TRUSTED_SOURCES', 'carrier.example.com', /SIP_TRUSTED_SOURCES="carrier.example.com" is invalid/],
    ['SIP_TRUSTED_SOURCES', '203.0.113.0/24,', /SIP_TRUSTED_SOURCES="203.0.113.0\/24," is invalid/],
    ['SIP_SCANNER_USER_AGENTS', 'friendly-scanner,,sipcli', /SIP_SCANNER_USER_AGENTS=.* is invalid; expected a comma-separated list of User-Agent words/],
    ['DRACHTIO_BLACKLIST_KEY', 'blacklist', /DRACHTIO_BLACKLIST_KEY="blacklist" is invalid; expected REDIS_URL to be set too/],
    ['WEBHOOK_URL', 'hooks.example.com/events', /WEBHOOK_URL is invalid \(value hidden\); expected an http\(s\) URL/],
    ['WEBHOOK_URL', 'ftp://hooks.example.com/events', /WEBHOOK_URL is invalid \(value hidden\); expected an http\(s\) URL/],
    ['WEBHOOK_URL', 'https://hooks.example.com/events', /WEBHOOK_SECRET is missing; expected a secret of at least 16 printable characters without spaces \(WEBHOOK_URL is set: every webhook is signed\)/],
    ['WEBHOOK_SECRET', 'whsec-0123456789abcdef', /WEBHOOK_URL is missing; expected an http\(s\) URL .*\(WEBHOOK_SECRET is set\)/],
  ])('rejects %s=%j with a message naming the key and what is expected', (key, value, message) => {
    expect(() => load({ [key]: value })).toThrow(ConfigError);
    expect(() => load({ [key]: value })).toThrow(message);
  });

  it('never echoes a secret value in its error', () => {
    for (const [key, value] of [
      ['API_TOKEN', 'short secret'],
      ['REDIS_URL', 'http://user:pw@redis'],
      ['DRACHTIO_SECRET', 'with space'],
      ['WEBHOOK_URL', 'ftp://user:pw@hooks.example.com'],
    ] as const) {
      try {
        load({ [key]: value });
        expect.unreachable(`${key} should have been rejected`);
      } catch (err) {
        expect((err as Error).message).toContain(key);
        expect((err as Error).message).not.toContain(value);
      }
    }
  });

  it('posts webhooks to WEBHOOK_URL, signed with WEBHOOK_SECRET; neither by default', () => {
    expect(load({})).toMatchObject({ webhookUrl: undefined, webhookSecret: undefined });
    const url = 'https://hooks.example.com/gateway-events?tenant=7';
    expect(load({ WEBHOOK_URL: url, WEBHOOK_SECRET: 'whsec-0123456789abcdef' })).toMatchObject({ webhookUrl: url, webhookSecret: 'whsec-0123456789abcdef' });
    expect(() => load({ WEBHOOK_URL: url, WEBHOOK_SECRET: 'too short' })).toThrow(/WEBHOOK_SECRET is invalid \(value hidden\)/);
  });

  it('challenges with MD5 alone by default: every softphone answers it, whatever it makes of a second challenge', () => {
    expect(load({}).sipDigestAlgorithms).toEqual(['MD5']);
  });

  it.each([
    ['SHA-256,MD5', ['SHA-256', 'MD5']],
    ['SHA-256', ['SHA-256']],
    [' SHA-256 , MD5 ', ['SHA-256', 'MD5']],
  ])('takes SIP_DIGEST_ALGORITHMS=%j strongest first', (value, algorithms) => {
    expect(load({ SIP_DIGEST_ALGORITHMS: value }).sipDigestAlgorithms).toEqual(algorithms);
  });

  it('admits calls and drains by the defaults: 96 set-ups in flight, 75 % media load, Retry-After from 5 s, 300 s drain', () => {
    expect(load({})).toMatchObject({ sipMaxSetupsInFlight: 96, sipMaxMediaLoad: 0.75, sipRetryAfterSeconds: 5, drainMs: 300_000 });
    expect(load({ SIP_MAX_SETUPS_IN_FLIGHT: '4', SIP_MAX_MEDIA_LOAD_PERCENT: '90', SIP_RETRY_AFTER_SECONDS: '30', DRAIN_SECONDS: '0' })).toMatchObject({
      sipMaxSetupsInFlight: 4,
      sipMaxMediaLoad: 0.9,
      sipRetryAfterSeconds: 30,
      drainMs: 0,
    });
  });

  it('ends silent calls after 30 s by default, never on hold, with no call length limit', () => {
    expect(load({}).callLimits).toEqual({ rtpTimeoutMs: 30_000, rtpHoldTimeoutMs: 0, maxCallMs: 0 });
    expect(load({ RTP_TIMEOUT_SECONDS: '0', RTP_HOLD_TIMEOUT_SECONDS: '600', MAX_CALL_SECONDS: '14400' }).callLimits).toEqual({
      rtpTimeoutMs: 0,
      rtpHoldTimeoutMs: 600_000,
      maxCallMs: 14_400_000,
    });
  });

  it('guards SIP by the defaults: 5 failures in 300 s ban for 900 s, 20 requests/s, 8 set-ups per address and 4 per credential, the known scanners', () => {
    expect(load({}).sipGuard).toEqual({
      maxFailures: 5,
      windowMs: 300_000,
      banMs: 900_000,
      maxRequestsPerSecond: 20,
      maxSetupsPerSource: 8,
      maxSetupsPerCredential: 4,
      trustedSources: [],
      frontSources: [],
      scannerUserAgents: ['friendly-scanner', 'sipvicious', 'sipcli', 'sip-scan', 'sundayddr', 'iwar', 'sivus', 'vaxsipuseragent', 'pplsip'],
      drachtioBlacklistKey: undefined,
    });
  });

  it('takes trusted networks as CIDRs (a bare address is a network of one), scanner words in any case, and a blacklist key with Redis', () => {
    const guard = load({
      SIP_TRUSTED_SOURCES: '203.0.113.0/24, 2001:db8::/32,198.51.100.7',
      SIP_SCANNER_USER_AGENTS: 'Friendly-Scanner',
      REDIS_URL: 'redis://127.0.0.1:6379',
      DRACHTIO_BLACKLIST_KEY: 'drachtio:blacklist',
    }).sipGuard;
    expect(guard.trustedSources).toEqual([
      { address: '203.0.113.0', prefix: 24, family: 'ipv4' },
      { address: '2001:db8::', prefix: 32, family: 'ipv6' },
      { address: '198.51.100.7', prefix: 32, family: 'ipv4' },
    ]);
    expect(guard.scannerUserAgents).toEqual(['friendly-scanner']);
    expect(guard.drachtioBlacklistKey).toBe('drachtio:blacklist');
    expect(load({ SIP_SCANNER_USER_AGENTS: '' }).sipGuard.scannerUserAgents).toEqual([]);
  });

  it('takes SIP fronts as CIDRs and refuses a value that is not one', () => {
    expect(load({ SIP_FRONT_SOURCES: '172.31.250.10, 2001:db8::/64' }).sipGuard.frontSources).toEqual([
      { address: '172.31.250.10', prefix: 32, family: 'ipv4' },
      { address: '2001:db8::', prefix: 64, family: 'ipv6' },
    ]);
    expect(() => load({ SIP_FRONT_SOURCES: 'kamailio' })).toThrow(/SIP_FRONT_SOURCES/);
  });

  it('rejects an RTP range whose end is below its start', () => {
    expect(() => load({ RTP_MIN_PORT: '30000', RTP_MAX_PORT: '20000' })).toThrow(
      /RTP_MAX_PORT="20000" is invalid; expected an integer from RTP_MIN_PORT \(30000\) to 65535/,
    );
  });
});

describe('SIP over TLS (SIP_TLS_PORT, SIP_TLS_CERT, SIP_TLS_KEY, SIP_TLS_VERIFY, SIP_TLS_CA_FILE)', () => {
  let mine: TestCertificate;
  let other: TestCertificate;

  beforeAll(async () => {
    [mine, other] = await Promise.all([makeTestCertificate('mine'), makeTestCertificate('other')]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([mine?.remove(), other?.remove()]);
  });

  it('is off without a certificate, and on port 5061 with one', () => {
    expect(load({}).sipTls).toBeUndefined();
    const config = load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: mine.keyFile });
    expect(config.sipTls?.port).toBe(5061);
    expect(config.sipTls?.keyPair.cert).toBe(mine.cert);
    expect(load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: mine.keyFile, SIP_TLS_PORT: '5071' }).sipTls?.port).toBe(5071);
  });

  it('never shows the private key when the configuration is logged', () => {
    const config = load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: mine.keyFile });
    const logged = JSON.stringify({ config });
    expect(logged).toContain(mine.keyFile);
    expect(logged).not.toContain('PRIVATE KEY');
  });

  it('says which file is missing, unreadable, not PEM, or a key that is not the certificate\'s', () => {
    const notPem = join(mine.dir, 'not-pem.txt');
    writeFileSync(notPem, 'hello\n');
    expect(() => load({ SIP_TLS_CERT: mine.certFile })).toThrow('config: SIP_TLS_KEY is missing; expected a private key file (SIP_TLS_CERT is set)');
    expect(() => load({ SIP_TLS_KEY: mine.keyFile })).toThrow('config: SIP_TLS_CERT is missing; expected a certificate file (SIP_TLS_KEY is set)');
    expect(() => load({ SIP_TLS_PORT: '5061' })).toThrow(/SIP_TLS_CERT is missing; expected a certificate file \(SIP_TLS_PORT is set/);
    expect(() => load({ SIP_TLS_CERT: join(mine.dir, 'absent.crt'), SIP_TLS_KEY: mine.keyFile })).toThrow(
      /^config: SIP_TLS_CERT=".*absent\.crt" is invalid; expected a readable file holding a PEM certificate \(reading it failed: ENOENT\)$/,
    );
    expect(() => load({ SIP_TLS_CERT: notPem, SIP_TLS_KEY: mine.keyFile })).toThrow(/SIP_TLS_CERT=".*not-pem\.txt" is invalid; expected a file holding a PEM certificate/);
    expect(() => load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: notPem })).toThrow(/SIP_TLS_KEY=".*not-pem\.txt" is invalid; expected a file holding an unencrypted PEM private key/);
    expect(() => load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: other.keyFile })).toThrow(
      /SIP_TLS_KEY=".*other\.key" is invalid; expected the private key of the certificate in SIP_TLS_CERT \(.*mine\.crt\); this key does not match it/,
    );
    expect(() => load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: mine.keyFile, SIP_TLS_PORT: '70000' })).toThrow(/SIP_TLS_PORT="70000" is invalid/);
    expect(() => load({ SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: mine.keyFile, SIP_TLS_PORT: '5060' })).toThrow(
      'config: SIP_TLS_PORT="5060" is invalid; expected a port other than SIP_PORT (5060), which SIP over TCP listens on',
    );
  });

  it('is drachtio-server\'s own business when DRACHTIO_ADDRESS is set', () => {
    expect(() => load({ DRACHTIO_ADDRESS: '127.0.0.1:9022', SIP_TLS_CERT: mine.certFile, SIP_TLS_KEY: mine.keyFile })).toThrow(
      /SIP_TLS_CERT=.* is invalid; expected unset with DRACHTIO_ADDRESS \(SIP over TLS is then drachtio-server's own: its --contact "sips:\.\.\.;transport=tls", --cert-file, --key-file and --chain-file\)/,
    );
  });

  it('checks the TLS peers we connect to by default, against the system CAs or SIP_TLS_CA_FILE; SIP_TLS_VERIFY=false checks none', () => {
    expect(load({}).sipTlsPeers).toEqual({ verify: true, ca: undefined });
    expect(load({ SIP_TLS_VERIFY: 'false' }).sipTlsPeers).toEqual({ verify: false, ca: undefined });
    const withCa = load({ SIP_TLS_CA_FILE: other.certFile }).sipTlsPeers;
    expect(withCa.verify).toBe(true);
    expect(withCa.ca?.pem).toBe(other.cert);
    expect(JSON.stringify({ withCa })).toContain(other.certFile);
  });

  it('says what is wrong with SIP_TLS_VERIFY and SIP_TLS_CA_FILE', () => {
    expect(() => load({ SIP_TLS_VERIFY: 'maybe' })).toThrow(/^config: SIP_TLS_VERIFY="maybe" is invalid/);
    expect(() => load({ SIP_TLS_CA_FILE: join(mine.dir, 'absent.pem') })).toThrow(
      /^config: SIP_TLS_CA_FILE=".*absent\.pem" is invalid; expected a readable file holding PEM CA certificates \(reading it failed: ENOENT\)$/,
    );
    const notPem = join(mine.dir, 'not-a-ca.txt');
    writeFileSync(notPem, 'hello\n');
    expect(() => load({ SIP_TLS_CA_FILE: notPem })).toThrow(/SIP_TLS_CA_FILE=".*not-a-ca\.txt" is invalid; expected a file holding PEM CA certificates/);
    expect(() => load({ SIP_TLS_CA_FILE: other.certFile, SIP_TLS_VERIFY: 'false' })).toThrow(/SIP_TLS_CA_FILE=.* is invalid; expected unset with SIP_TLS_VERIFY=false/);
    expect(() => load({ SIP_TLS_CA_FILE: other.certFile, DRACHTIO_ADDRESS: '127.0.0.1:9022' })).toThrow(
      /SIP_TLS_CA_FILE=.* is invalid; expected unset with DRACHTIO_ADDRESS \(drachtio-server v0\.9\.10 checks no TLS peer's certificate\)/,
    );
  });
});

describe('gateway start-up with a bad value', () => {
  it('exits non-zero with one readable line and no stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, HTTP_PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'config: HTTP_PORT="eighty" is invalid; expected an integer from 0 (any free port) to 65535',
    ]);
    expect(result.stdout).toBe('');
  });
});
