/**
 * Parsers for configuration values. Each returns the typed value or undefined when the
 * raw text is not acceptable; the caller turns that into a ConfigError naming the key.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from '../credentials/digest-hash.js';
import { CODECS, type CodecName } from '../media/sdp/codecs.js';

export interface ValueType<T> {
  readonly expected: string;
  parse(raw: string): T | undefined;
}

export function integer(min: number, max: number): ValueType<number> {
  return {
    expected: `an integer from ${min} to ${max}`,
    parse(raw) {
      if (!/^\d+$/.test(raw)) return undefined;
      const n = Number(raw);
      return n >= min && n <= max ? n : undefined;
    },
  };
}

export const port = integer(1, 65535);

/** A port to listen on; 0 lets the system pick a free one (tests, one-off runs). */
export const listenPort: ValueType<number> = { ...integer(0, 65535), expected: 'an integer from 0 (any free port) to 65535' };

export const ipAddress: ValueType<string> = {
  expected: 'an IPv4 or IPv6 address',
  parse: (raw) => (isIP(raw) ? raw : undefined),
};

/** host:port, with [v6]:port for IPv6 literals. */
export interface HostPort {
  host: string;
  port: number;
}

export const hostPort: ValueType<HostPort> = {
  expected: 'host:port (for example 127.0.0.1:9022)',
  parse(raw) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d+)$/.exec(raw);
    if (!m) return undefined;
    const portNumber = port.parse(m[3] ?? '');
    const host = m[1] ?? m[2];
    return portNumber === undefined || !host ? undefined : { host, port: portNumber };
  },
};

/** A SIP domain: a host name or an IP address, as it appears in sip:<meeting>@<domain>. */
export const sipDomain: ValueType<string> = {
  expected: 'a host name or IP address (for example sip.example.com)',
  parse: (raw) =>
    isIP(raw) || /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(raw)
      ? raw.toLowerCase()
      : undefined,
};

export const httpUrl: ValueType<string> = {
  expected: 'an http(s) URL without a trailing slash (for example https://gw.example.com)',
  parse(raw) {
    if (raw.endsWith('/')) return undefined;
    try {
      const url = new URL(raw);
      return url.protocol === 'http:' || url.protocol === 'https:' ? raw : undefined;
    } catch {
      return undefined;
    }
  },
};

/** Where webhooks are posted: an absolute http(s) URL, any path and query. */
export const webhookUrl: ValueType<string> = {
  expected: 'an http(s) URL (for example https://hooks.example.com/gateway-events)',
  parse(raw) {
    try {
      const url = new URL(raw);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? raw : undefined;
    } catch {
      return undefined;
    }
  },
};

/** An absolute file system path. */
export const absolutePath: ValueType<string> = {
  expected: 'an absolute path (for example /srv/gateway/public)',
  parse: (raw) => (isAbsolute(raw) ? raw : undefined),
};

/** A file system path (absolute, or relative to the working directory). */
export const filePath: ValueType<string> = {
  expected: 'a file path (for example /etc/gateway/sip-tls.pem)',
  parse: (raw) => (raw.includes('\0') ? undefined : raw),
};

export const redisUrl: ValueType<string> = {
  expected: 'a redis:// or rediss:// URL',
  parse(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === 'redis:' || url.protocol === 'rediss:' ? raw : undefined;
    } catch {
      return undefined;
    }
  },
};

export function secret(minLength: number): ValueType<string> {
  return {
    expected: `a secret of at least ${minLength} printable characters without spaces`,
    parse: (raw) => (raw.length >= minLength && /^[\x21-\x7e]+$/.test(raw) ? raw : undefined),
  };
}

/** A BCP 47 tag as Twilio's <Say> takes it: en-US, de-DE, cmn-CN. */
export const languageTag: ValueType<string> = {
  expected: 'a language tag such as en-US',
  parse: (raw) => (/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(raw) ? raw : undefined),
};

/** A Twilio <Say> voice: man, woman, alice, Polly.<Name>, Google.<name>. */
export const sayVoice: ValueType<string> = {
  expected: 'a Twilio voice name such as Polly.Joanna or alice',
  parse: (raw) => (/^[\p{L}0-9][\p{L}0-9.-]{0,63}$/u.test(raw) ? raw : undefined),
};

export function oneOf<T extends string>(...choices: T[]): ValueType<T> {
  return {
    expected: `one of ${choices.join(', ')}`,
    parse: (raw) => (choices as string[]).includes(raw) ? (raw as T) : undefined,
  };
}

/** true/false (also 1/0, yes/no, on/off), as env variables spell switches. */
export const flag: ValueType<boolean> = {
  expected: 'true or false',
  parse(raw) {
    const word = raw.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(word)) return true;
    if (['false', '0', 'no', 'off'].includes(word)) return false;
    return undefined;
  },
};

/** An ordered, comma-separated choice among known names, each at most once ("PCMU,PCMA"). */
function orderedChoice<T extends string>(known: readonly T[]): ValueType<readonly T[]> {
  return {
    expected: `a comma-separated list of ${known.join(', ')} (each at most once)`,
    parse(raw) {
      const names = raw.split(',').map((name) => name.trim());
      const valid = names.every((name): name is T => (known as readonly string[]).includes(name));
      return valid && new Set(names).size === names.length ? Object.freeze(names) : undefined;
    },
  };
}

export const codecList: ValueType<readonly CodecName[]> = orderedChoice(Object.keys(CODECS) as CodecName[]);

/**
 * The digest challenges of a 401, strongest first. RFC 8760 §2.4 has a server list them in
 * its order of preference and a client answer the first it supports, so MD5 before SHA-256
 * would leave SHA-256 unused; it would also shut out clients that answer only the last
 * challenge (twinkle 1.10 does, and knows only MD5).
 */
export const digestAlgorithmList: ValueType<readonly DigestAlgorithm[]> = {
  expected: `a comma-separated list of ${DIGEST_ALGORITHMS.join(', ')} (each at most once, strongest first: ${DIGEST_ALGORITHMS.join(' before ')})`,
  parse(raw) {
    const algorithms = orderedChoice(DIGEST_ALGORITHMS).parse(raw);
    if (!algorithms) return undefined;
    const strength = algorithms.map((algorithm) => DIGEST_ALGORITHMS.indexOf(algorithm));
    return strength.every((rank, i) => i === 0 || rank > strength[i - 1]!) ? algorithms : undefined;
  },
};

/** An IPv4 or IPv6 network in CIDR notation; a bare address is a network of one. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Comma-separated CIDRs ("203.0.113.0/24, 2001:db8::/32, 198.51.100.7"); empty: none. */
export const cidrList: ValueType<readonly Cidr[]> = {
  expected: 'a comma-separated list of IPv4 or IPv6 networks in CIDR notation (for example 203.0.113.0/24,2001:db8::/32)',
  parse(raw) {
    const cidrs: Cidr[] = [];
    for (const item of raw.split(',').map((text) => text.trim())) {
      const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(item);
      const version = match ? isIP(match[1] ?? '') : 0;
      if (!match || version === 0) return undefined;
      const max = version === 4 ? 32 : 128;
      const prefix = match[2] === undefined ? max : Number(match[2]);
      if (prefix > max) return undefined;
      cidrs.push({ address: match[1] ?? '', prefix, family: version === 4 ? 'ipv4' : 'ipv6' });
    }
    return Object.freeze(cidrs);
  },
};

/** Comma-separated words matched case-insensitively inside a User-Agent ("friendly-scanner,sipvicious"). */
export const userAgentWords: ValueType<readonly string[]> = {
  expected: 'a comma-separated list of User-Agent words (letters, digits, spaces, . _ - /), or empty for none',
  parse(raw) {
    const words = raw.split(',').map((word) => word.trim().toLowerCase());
    return words.every((word) => /^[a-z0-9][a-z0-9 ._/-]{0,63}$/.test(word)) ? Object.freeze(words) : undefined;
  },
};

/** A Redis key: printable, no spaces. */
export const redisKey: ValueType<string> = {
  expected: 'a Redis key (printable characters, no spaces)',
  parse: (raw) => (/^[\x21-\x7e]{1,200}$/.test(raw) ? raw : undefined),
};
