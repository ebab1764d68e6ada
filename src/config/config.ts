/**
 * The gateway's configuration: defaults from config/default.json, overridden by
 * environment variables of the same name, validated once at start-up and frozen.
 */
import { readFileSync } from 'node:fs';
import type { DigestAlgorithm } from '../credentials/digest-hash.js';
import type { CodecName } from '../media/sdp/codecs.js';
import { SRTP_POLICIES, type SrtpPolicy } from '../media/sdp/crypto-attribute.js';
import { ConfigError } from './config-error.js';
import { TlsKeyPair, TrustedCas } from './tls-files.js';
import {
  absolutePath,
  type Cidr,
  cidrList,
  codecList,
  digestAlgorithmList,
  flag,
  type HostPort,
  type ValueType,
  hostPort,
  httpUrl,
  integer,
  ipAddress,
  languageTag,
  oneOf,
  listenPort,
  redisKey,
  redisUrl,
  sayVoice,
  secret,
  sipDomain,
  filePath,
  userAgentWords,
  webhookUrl,
} from './values.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface GatewayConfig {
  readonly httpHost: string;
  readonly httpPort: number;
  readonly publicUrl: string;
  readonly sipDomain: string;
  readonly sipPort: number;
  /** SIP over TLS on the embedded stand-in; undefined when no certificate is configured. */
  readonly sipTls: SipTlsConfig | undefined;
  /**
   * How the certificates of the TLS peers we connect to (trunks, dial-out over TLS) are
   * checked: `verify` against `ca` (else the system's CAs) and the host dialled, or not at all.
   */
  readonly sipTlsPeers: SipTlsPeersConfig;
  /** Unset: the embedded drachtio-server stand-in runs in-process. */
  readonly drachtioAddress: HostPort | undefined;
  readonly drachtioSecret: string;
  /** Signs digest nonces; every node must share it. Unset: a random one per process. */
  readonly sipNonceSecret: string | undefined;
  /** The digest algorithms challenged with, strongest first. */
  readonly sipDigestAlgorithms: readonly DigestAlgorithm[];
  /** Our codec order of preference for phone legs. */
  readonly sipCodecs: readonly CodecName[];
  /** SRTP with SDES keys for phones: off, optional (when the phone offers it) or required. */
  readonly sipSrtp: SrtpPolicy;
  readonly rtpListenIp: string;
  readonly announcedIp: string;
  readonly rtpMinPort: number;
  readonly rtpMaxPort: number;
  /**
   * true: phone media goes where the phone's RTP comes from (symmetric RTP, so NATed
   * phones work). false: only to the address in the phone's SDP.
   */
  readonly rtpComedia: boolean;
  /**
   * Whether a browser in a meeting may dial out from the page. The page has no API token:
   * whoever knows a meeting's id could place calls (toll fraud), so it is off unless set.
   */
  readonly pageDialOut: boolean;
  readonly mediasoupWorkers: number;
  /** Threads carrying the phones' media (RTP ports, mixers); 0 = one per core. */
  readonly mediaThreads: number;
  /** Most participants (browsers and phones) one meeting admits. */
  readonly maxParticipants: number;
  readonly mixerTalkers: number;
  /** How long an empty meeting keeps its mediasoup router before closing it. */
  readonly emptyRoomGraceMs: number;
  /** Call set-ups allowed at once; further INVITEs get 503 + Retry-After. */
  readonly sipMaxSetupsInFlight: number;
  /** Media load (0..1) from which new INVITEs get 503 + Retry-After. */
  readonly sipMaxMediaLoad: number;
  /** The least Retry-After of a 503; each adds up to half again at random. */
  readonly sipRetryAfterSeconds: number;
  /** SIP security: failure accounting, bans and rate limits (src/sip/guard/). */
  readonly sipGuard: SipGuardConfig;
  /** How long a drain (SIGTERM, POST /api/admin/drain) lets live calls go on before ending them. */
  readonly drainMs: number;
  /** Silence (no RTP or RTCP) that ends a call, not on hold and on hold, and the longest call; 0: never. */
  readonly callLimits: { readonly rtpTimeoutMs: number; readonly rtpHoldTimeoutMs: number; readonly maxCallMs: number };
  /** Unset: state lives in this process's memory (one node). */
  readonly redisUrl: string | undefined;
  /** How long a meeting's owner lease lasts without renewal: how soon a dead node's meetings can be claimed by another. */
  readonly meetingLeaseMs: number;
  /** How a call for a meeting another node hosts goes there: proxied (drachtio-server proxies the INVITE) or redirected (302). */
  readonly sipClusterMode: 'proxy' | 'redirect';
  /** Signs the hand-off of a proxied call between nodes; every node must share it. Unset: calls are redirected, never proxied. */
  readonly sipClusterSecret: string | undefined;
  /** Unset: the API answers on loopback only. */
  readonly apiToken: string | undefined;
  /** Bearer token for GET /metrics. Unset: /metrics answers only on loopback. */
  readonly metricsToken: string | undefined;
  /** Where call, participant and meeting events are posted; unset: none are. */
  readonly webhookUrl: string | undefined;
  /** Signs every webhook; set exactly when webhookUrl is. */
  readonly webhookSecret: string | undefined;
  /** Checks X-Twilio-Signature. Unset: the Twilio webhooks answer 503. */
  readonly twilioAuthToken: string | undefined;
  /** false: a call to a number without a meeting is told so and ended, nothing is asked. */
  readonly twilioIvr: boolean;
  /** The <Say> voice and language of the IVR's prompts. */
  readonly twilioVoice: string;
  readonly twilioLanguage: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Where the built meeting page is. Unset: dist/public, where `npm run build` puts it. */
  readonly webAssetsDir: string | undefined;
  /** Session timer (RFC 4028): the shortest interval accepted; shorter asks get 422 with this Min-SE. */
  readonly sessionMinSESeconds: number;
  /** Session timer offered to a phone that supports timers but asked for none. */
  readonly sessionExpiresSeconds: number;
}

export interface SipTlsConfig {
  /** 0 picks a free one (tests). */
  readonly port: number;
  readonly keyPair: TlsKeyPair;
}

export interface SipTlsPeersConfig {
  readonly verify: boolean;
  /** PEM CA certificates trusted instead of the system's (SIP_TLS_CA_FILE); only with verify. */
  readonly ca: TrustedCas | undefined;
}

/** RFC 3261 19.1.2: SIP over TLS's port when none is given. */
export const DEFAULT_SIP_TLS_PORT = 5061;

export interface SipGuardConfig {
  /** Failed authentications (per source, per username) within the window that ban a source / slow a username. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** A source's first ban; each later one (while the last is remembered) lasts twice as long. */
  readonly banMs: number;
  /** Out-of-dialog requests one source may send per second; more are dropped. */
  readonly maxRequestsPerSecond: number;
  readonly maxSetupsPerSource: number;
  readonly maxSetupsPerCredential: number;
  /** Sources never rate-limited (carriers, PBXes sending OPTIONS keep-alives). */
  readonly trustedSources: readonly Cidr[];
  /** SIP fronts (a Kamailio proxy): their requests are judged by the caller's Via below the front's own. */
  readonly frontSources: readonly Cidr[];
  /** Lower-case words: a User-Agent containing one is banned on sight. */
  readonly scannerUserAgents: readonly string[];
  /** The Redis set drachtio-server's --blacklist-redis-key names; unset: not written. */
  readonly drachtioBlacklistKey: string | undefined;
}

type Source = Readonly<Record<string, string | number | undefined>>;

export const DEFAULTS_FILE = new URL('../../config/default.json', import.meta.url);

export function readDefaults(file: URL = DEFAULTS_FILE): Source {
  return JSON.parse(readFileSync(file, 'utf8')) as Source;
}

/**
 * Builds the configuration from defaults overridden by env.
 * Throws ConfigError for the first bad or missing key.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaults: Source = readDefaults()): GatewayConfig {
  const raw = (key: string): string => {
    const fromEnv = env[key];
    if (fromEnv !== undefined) return fromEnv.trim();
    const fallback = defaults[key];
    return fallback === undefined ? '' : String(fallback);
  };
  const required = <T>(key: string, type: ValueType<T>, sensitive = false): T => {
    const text = raw(key);
    const value = text === '' ? undefined : type.parse(text);
    if (value === undefined) throw new ConfigError(key, type.expected, text, sensitive);
    return value;
  };
  const optional = <T>(key: string, type: ValueType<T>, sensitive = false): T | undefined =>
    raw(key) === '' ? undefined : required(key, type, sensitive);

  const rtpMinPort = required('RTP_MIN_PORT', integer(1024, 65535));
  const rtpMaxPort = required('RTP_MAX_PORT', integer(1024, 65535));
  if (rtpMaxPort < rtpMinPort) {
    throw new ConfigError('RTP_MAX_PORT', `an integer from RTP_MIN_PORT (${rtpMinPort}) to 65535`, String(rtpMaxPort));
  }

  // RFC 4028 §4 puts the floor at 90 s; tests (NODE_ENV=test) may go down to 2 s to see a session expire.
  const sessionMinSESeconds = required('SESSION_MIN_SE_SECONDS', integer(env.NODE_ENV === 'test' ? 2 : 90, 86_400));
  const sessionExpiresSeconds = required('SESSION_EXPIRES_SECONDS', integer(1, 86_400));
  if (sessionExpiresSeconds < sessionMinSESeconds) {
    throw new ConfigError('SESSION_EXPIRES_SECONDS', `an integer from SESSION_MIN_SE_SECONDS (${sessionMinSESeconds}) to 86400`, String(sessionExpiresSeconds));
  }

  const drachtioAddress = optional('DRACHTIO_ADDRESS', hostPort);
  const sipPort = required('SIP_PORT', listenPort);
  const sipTls = sipTlsConfig(optional('SIP_TLS_CERT', filePath), optional('SIP_TLS_KEY', filePath), optional('SIP_TLS_PORT', listenPort), drachtioAddress);
  // SIP over TCP already listens on SIP_PORT.
  if (sipTls && sipTls.port !== 0 && sipTls.port === sipPort) {
    throw new ConfigError('SIP_TLS_PORT', `a port other than SIP_PORT (${sipPort}), which SIP over TCP listens on`, String(sipTls.port));
  }

  const sipTlsPeers = sipTlsPeersConfig(required('SIP_TLS_VERIFY', flag), optional('SIP_TLS_CA_FILE', filePath), drachtioAddress);

  const redis = optional('REDIS_URL', redisUrl, true);
  const drachtioBlacklistKey = optional('DRACHTIO_BLACKLIST_KEY', redisKey);
  if (drachtioBlacklistKey !== undefined && redis === undefined) {
    throw new ConfigError('DRACHTIO_BLACKLIST_KEY', 'REDIS_URL to be set too (the set is written in that Redis)', drachtioBlacklistKey);
  }
  // A webhook is always signed: a receiver must be able to tell our events from forged ones.
  const webhook = optional('WEBHOOK_URL', webhookUrl, true);
  const webhookSecretType = secret(16);
  const webhookSecret = optional('WEBHOOK_SECRET', webhookSecretType, true);
  if (webhook !== undefined && webhookSecret === undefined) {
    throw new ConfigError('WEBHOOK_SECRET', `${webhookSecretType.expected} (WEBHOOK_URL is set: every webhook is signed)`, '');
  }
  if (webhook === undefined && webhookSecret !== undefined) {
    throw new ConfigError('WEBHOOK_URL', `${webhookUrl.expected} (WEBHOOK_SECRET is set)`, '');
  }
  const sipGuard: SipGuardConfig = Object.freeze({
    maxFailures: required('SIP_AUTH_MAX_FAILURES', integer(1, 1_000_000)),
    windowMs: required('SIP_AUTH_WINDOW_SECONDS', integer(1, 86_400)) * 1000,
    banMs: required('SIP_BAN_SECONDS', integer(1, 30 * 86_400)) * 1000,
    maxRequestsPerSecond: required('SIP_MAX_REQUESTS_PER_SECOND', integer(1, 1_000_000)),
    maxSetupsPerSource: required('SIP_MAX_SETUPS_PER_SOURCE', integer(1, 10_000)),
    maxSetupsPerCredential: required('SIP_MAX_SETUPS_PER_CREDENTIAL', integer(1, 10_000)),
    trustedSources: optional('SIP_TRUSTED_SOURCES', cidrList) ?? [],
    frontSources: optional('SIP_FRONT_SOURCES', cidrList) ?? [],
    scannerUserAgents: optional('SIP_SCANNER_USER_AGENTS', userAgentWords) ?? [],
    drachtioBlacklistKey,
  });

  return Object.freeze({
    httpHost: required('HTTP_HOST', ipAddress),
    httpPort: required('HTTP_PORT', listenPort),
    publicUrl: required('PUBLIC_URL', httpUrl),
    sipDomain: required('SIP_DOMAIN', sipDomain),
    sipPort,
    sipTls,
    sipTlsPeers,
    drachtioAddress,
    drachtioSecret: required('DRACHTIO_SECRET', secret(1), true),
    sipNonceSecret: optional('SIP_NONCE_SECRET', secret(16), true),
    sipDigestAlgorithms: required('SIP_DIGEST_ALGORITHMS', digestAlgorithmList),
    sipCodecs: required('SIP_CODECS', codecList),
    sipSrtp: required('SIP_SRTP', oneOf(...SRTP_POLICIES)),
    rtpListenIp: required('RTP_LISTEN_IP', ipAddress),
    announcedIp: required('ANNOUNCED_IP', ipAddress),
    rtpMinPort,
    rtpMaxPort,
    rtpComedia: required('RTP_COMEDIA', flag),
    pageDialOut: required('PAGE_DIAL_OUT', flag),
    mediasoupWorkers: required('MEDIASOUP_WORKERS', { ...integer(0, 64), expected: 'an integer from 0 (one per CPU core) to 64' }),
    mediaThreads: required('MEDIA_THREADS', { ...integer(0, 64), expected: 'an integer from 0 (one per CPU core) to 64' }),
    maxParticipants: required('MAX_PARTICIPANTS', integer(1, 1000)),
    mixerTalkers: required('MIXER_TALKERS', integer(1, 16)),
    emptyRoomGraceMs: required('EMPTY_ROOM_GRACE_SECONDS', integer(0, 86_400)) * 1000,
    sipMaxSetupsInFlight: required('SIP_MAX_SETUPS_IN_FLIGHT', integer(1, 10_000)),
    sipMaxMediaLoad: required('SIP_MAX_MEDIA_LOAD_PERCENT', integer(1, 100)) / 100,
    sipRetryAfterSeconds: required('SIP_RETRY_AFTER_SECONDS', integer(1, 3600)),
    sipGuard,
    drainMs: required('DRAIN_SECONDS', integer(0, 86_400)) * 1000,
    callLimits: Object.freeze({
      rtpTimeoutMs: required('RTP_TIMEOUT_SECONDS', integer(0, 86_400)) * 1000,
      rtpHoldTimeoutMs: required('RTP_HOLD_TIMEOUT_SECONDS', integer(0, 86_400)) * 1000,
      maxCallMs: required('MAX_CALL_SECONDS', integer(0, 7 * 86_400)) * 1000,
    }),
    redisUrl: redis,
    meetingLeaseMs: required('MEETING_LEASE_SECONDS', integer(1, 3600)) * 1000,
    sipClusterMode: required('SIP_CLUSTER_MODE', oneOf('proxy', 'redirect')),
    sipClusterSecret: optional('SIP_CLUSTER_SECRET', secret(16), true),
    apiToken: optional('API_TOKEN', secret(16), true),
    metricsToken: optional('METRICS_TOKEN', secret(16), true),
    webhookUrl: webhook,
    webhookSecret,
    twilioAuthToken: optional('TWILIO_AUTH_TOKEN', secret(8), true),
    twilioIvr: required('TWILIO_IVR', flag),
    twilioVoice: required('TWILIO_VOICE', sayVoice),
    twilioLanguage: required('TWILIO_LANGUAGE', languageTag),
    logLevel: required('LOG_LEVEL', oneOf(...LOG_LEVELS)),
    webAssetsDir: optional('WEB_ASSETS_DIR', absolutePath),
    sessionMinSESeconds,
    sessionExpiresSeconds,
  });
}

/**
 * SIP over TLS: on when a certificate and key are given (both or neither), on SIP_TLS_PORT
 * or 5061. It is the embedded stand-in's; a real drachtio-server has TLS configured on its
 * own command line, so asking the gateway for it there is a mistake worth stopping for.
 */
function sipTlsConfig(certFile: string | undefined, keyFile: string | undefined, port: number | undefined, drachtio: HostPort | undefined): SipTlsConfig | undefined {
  if (certFile === undefined && keyFile === undefined) {
    if (port !== undefined) throw new ConfigError('SIP_TLS_CERT', 'a certificate file (SIP_TLS_PORT is set: TLS needs SIP_TLS_CERT and SIP_TLS_KEY)', '');
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError('SIP_TLS_CERT', 'a certificate file (SIP_TLS_KEY is set)', '');
  if (keyFile === undefined) throw new ConfigError('SIP_TLS_KEY', 'a private key file (SIP_TLS_CERT is set)', '');
  if (drachtio !== undefined) {
    throw new ConfigError(
      'SIP_TLS_CERT',
      'unset with DRACHTIO_ADDRESS (SIP over TLS is then drachtio-server\'s own: its --contact "sips:...;transport=tls", --cert-file, --key-file and --chain-file)',
      certFile,
    );
  }
  return Object.freeze({ port: port ?? DEFAULT_SIP_TLS_PORT, keyPair: TlsKeyPair.read('SIP_TLS_CERT', certFile, 'SIP_TLS_KEY', keyFile) });
}

/**
 * Checking the TLS peers we connect to: on by default, against the system's CAs or those of
 * SIP_TLS_CA_FILE. The check is the embedded stand-in's; drachtio-server v0.9.10 checks no
 * peer (see the README's "Dialing out over TLS"), so a CA file for it is a mistake.
 */
function sipTlsPeersConfig(verify: boolean, caFile: string | undefined, drachtio: HostPort | undefined): SipTlsPeersConfig {
  if (caFile === undefined) return Object.freeze({ verify, ca: undefined });
  if (!verify) throw new ConfigError('SIP_TLS_CA_FILE', 'unset with SIP_TLS_VERIFY=false (no certificate is checked, so no CA is used)', caFile);
  if (drachtio !== undefined) {
    throw new ConfigError('SIP_TLS_CA_FILE', 'unset with DRACHTIO_ADDRESS (drachtio-server v0.9.10 checks no TLS peer\'s certificate)', caFile);
  }
  return Object.freeze({ verify, ca: TrustedCas.read('SIP_TLS_CA_FILE', caFile) });
}
