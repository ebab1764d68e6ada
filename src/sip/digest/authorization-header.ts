/**
 * Reads a SIP Authorization (or Proxy-Authorization) header value carrying Digest
 * credentials (RFC 3261 §25.1 digest-response, RFC 7616 §3.4): comma-separated
 * name=value pairs, names case-insensitive, values tokens or quoted strings with
 * backslash escapes, whitespace (and unfolded line breaks) allowed around the separators.
 * Quoted or not is accepted for every parameter, as lenient servers do for real clients.
 */
import { GatewayError } from '../../errors.js';

/** Rejected before any checking: the request gets 400 with this reason. */
export class MalformedAuthorizationError extends GatewayError {
  constructor(readonly reason: string) {
    super('bad_request', `malformed Authorization header: ${reason}`);
    this.name = 'MalformedAuthorizationError';
  }
}

export interface DigestCredentials {
  /** From username, or decoded from RFC 7616 username* (UTF-8 only). */
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  /** The digest-uri the client hashed. */
  readonly uri: string;
  /** Lowercase hex. */
  readonly response: string;
  /** As sent; absent means MD5. */
  readonly algorithm?: string;
  readonly qop?: string;
  readonly cnonce?: string;
  /** 8 hex digits as sent: the response hashes this text. */
  readonly nc?: string;
  readonly opaque?: string;
}

const MAX_HEADER_LENGTH = 4096;
const MAX_NAME_LENGTH = 32;
// RFC 3261 §25.1 token characters.
const TOKEN = /[A-Za-z0-9\-.!%*_+`'~]*/y;
const SPACE = /[ \t\r\n]*/y;
const RESPONSE = /^(?:[0-9a-f]{32}|[0-9a-f]{64})$/i;
const NONCE_COUNT = /^[0-9a-f]{8}$/i;
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
// RFC 8187 ext-value, charset UTF-8 only: UTF-8'<language>'<percent-encoded>
const EXT_VALUE = /^UTF-8'[A-Za-z0-9-]*'(.*)$/i;

/** The nonce count as a number, or undefined unless it is 8 hex digits from 00000001. */
export function parseNonceCount(nc: string): number | undefined {
  if (!NONCE_COUNT.test(nc)) return undefined;
  const value = Number.parseInt(nc, 16);
  return value > 0 ? value : undefined;
}

/** Throws MalformedAuthorizationError; never echoes values, which carry digests. */
export function parseAuthorization(header: string): DigestCredentials {
  if (header.length > MAX_HEADER_LENGTH) throw new MalformedAuthorizationError(`longer than ${MAX_HEADER_LENGTH} characters`);
  const scanner = new Scanner(header);
  scanner.skipSpace();
  const scheme = scanner.token();
  if (scheme.toLowerCase() !== 'digest') throw new MalformedAuthorizationError('not a Digest credential');
  if (!scanner.skipSpace()) throw new MalformedAuthorizationError('no parameters after Digest');
  return toCredentials(readParams(scanner));
}

function readParams(scanner: Scanner): Map<string, string> {
  const params = new Map<string, string>();
  while (!scanner.atEnd()) {
    const name = scanner.token().toLowerCase();
    if (name === '') throw new MalformedAuthorizationError(`expected a parameter name at offset ${scanner.offset}`);
    // Names appear in reasons, which end up in logs: keep them short.
    if (name.length > MAX_NAME_LENGTH) {
      throw new MalformedAuthorizationError(`a parameter name is longer than ${MAX_NAME_LENGTH} characters`);
    }
    scanner.skipSpace();
    if (!scanner.take('=')) throw new MalformedAuthorizationError(`expected "=" after ${name}`);
    scanner.skipSpace();
    const quoted = scanner.peek() === '"';
    const value = quoted ? scanner.quoted(name) : scanner.token();
    if (!quoted && value === '') throw new MalformedAuthorizationError(`${name} has no value`);
    if (params.has(name)) throw new MalformedAuthorizationError(`${name} appears twice`);
    params.set(name, value);
    scanner.skipSpace();
    if (scanner.atEnd()) break;
    if (!scanner.take(',')) throw new MalformedAuthorizationError(`expected "," after ${name}`);
    // Empty list elements ("a=1,,b=2", a trailing comma) are allowed by the #rule.
    while (scanner.skipSpace() || scanner.take(','));
  }
  return params;
}

function toCredentials(params: Map<string, string>): DigestCredentials {
  const required = (name: string): string => {
    const value = params.get(name);
    if (value === undefined) throw new MalformedAuthorizationError(`missing ${name}`);
    return value;
  };
  const response = required('response');
  if (!RESPONSE.test(response)) throw new MalformedAuthorizationError('response is not 32 or 64 hex digits');
  const nc = params.get('nc');
  if (nc !== undefined && parseNonceCount(nc) === undefined) {
    throw new MalformedAuthorizationError('nc is not 8 hex digits from 00000001');
  }
  // We never offer userhash (RFC 7616 §3.4.4), so a hashed username cannot be looked up.
  if (params.get('userhash')?.toLowerCase() === 'true') throw new MalformedAuthorizationError('userhash was not offered');
  return {
    username: username(params),
    realm: required('realm'),
    nonce: required('nonce'),
    uri: required('uri'),
    response: response.toLowerCase(),
    algorithm: params.get('algorithm'),
    qop: params.get('qop'),
    cnonce: params.get('cnonce'),
    nc,
    opaque: params.get('opaque'),
  };
}

function username(params: Map<string, string>): string {
  const plain = params.get('username');
  const extended = params.get('username*');
  if (plain !== undefined && extended !== undefined) throw new MalformedAuthorizationError('both username and username*');
  if (extended !== undefined) {
    const encoded = EXT_VALUE.exec(extended)?.[1];
    if (encoded === undefined) throw new MalformedAuthorizationError("username* is not UTF-8''<percent-encoded>");
    try {
      return nonEmpty(decodeURIComponent(encoded));
    } catch {
      throw new MalformedAuthorizationError('username* is not valid percent-encoded UTF-8');
    }
  }
  if (plain === undefined) throw new MalformedAuthorizationError('missing username');
  return nonEmpty(plain);
}

function nonEmpty(name: string): string {
  if (name === '') throw new MalformedAuthorizationError('username is empty');
  return name;
}

/** A cursor over the header text. */
class Scanner {
  offset = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.offset >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.offset];
  }

  take(char: string): boolean {
    if (this.text[this.offset] !== char) return false;
    this.offset++;
    return true;
  }

  /** true when it skipped anything. */
  skipSpace(): boolean {
    return this.match(SPACE) !== '';
  }

  token(): string {
    return this.match(TOKEN);
  }

  /** Reads a quoted-string; the text is sliced once (no per-character concatenation: it runs on every call). */
  quoted(name: string): string {
    let from = ++this.offset; // past the opening quote
    let value = '';
    for (;;) {
      const end = this.text.indexOf('"', this.offset);
      const escape = this.text.indexOf('\\', this.offset);
      if (end === -1) throw new MalformedAuthorizationError(`unterminated quoted string in ${name}`);
      if (escape === -1 || escape > end) {
        value += this.text.slice(from, end);
        this.offset = end + 1;
        break;
      }
      // quoted-pair: the backslash goes, the character after it stays (even a quote).
      if (escape + 1 >= this.text.length) throw new MalformedAuthorizationError(`unterminated quoted string in ${name}`);
      value += this.text.slice(from, escape);
      from = escape + 1;
      this.offset = escape + 2;
    }
    if (CONTROL.test(value)) throw new MalformedAuthorizationError(`control character in ${name}`);
    return value;
  }

  private match(pattern: RegExp): string {
    pattern.lastIndex = this.offset;
    const found = pattern.exec(this.text)?.[0] ?? '';
    this.offset += found.length;
    return found;
  }
}
