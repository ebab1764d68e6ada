/**
 * SIP header knowledge the stand-in needs to look like sofia-sip: compact forms, the
 * canonical spelling and order of the headers sofia knows, and how sofia re-encodes
 * their values when it builds a message (as opposed to forwarding one verbatim).
 */

const COMPACT_FORMS: ReadonlyMap<string, string> = new Map(Object.entries({
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
  u: 'allow-events',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
}));

/** sofia-sip's `sip_t` field order: known headers serialise in this order, unknown ones after them. */
const KNOWN_HEADERS: ReadonlyArray<readonly [key: string, canonical: string]> = [
  ['via', 'Via'],
  ['route', 'Route'],
  ['record-route', 'Record-Route'],
  ['max-forwards', 'Max-Forwards'],
  ['proxy-require', 'Proxy-Require'],
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['contact', 'Contact'],
  ['rseq', 'RSeq'],
  ['rack', 'RAck'],
  ['request-disposition', 'Request-Disposition'],
  ['accept-contact', 'Accept-Contact'],
  ['reject-contact', 'Reject-Contact'],
  ['expires', 'Expires'],
  ['date', 'Date'],
  ['retry-after', 'Retry-After'],
  ['timestamp', 'Timestamp'],
  ['min-expires', 'Min-Expires'],
  ['subject', 'Subject'],
  ['priority', 'Priority'],
  ['call-info', 'Call-Info'],
  ['organization', 'Organization'],
  ['server', 'Server'],
  ['user-agent', 'User-Agent'],
  ['in-reply-to', 'In-Reply-To'],
  ['accept', 'Accept'],
  ['accept-encoding', 'Accept-Encoding'],
  ['accept-language', 'Accept-Language'],
  ['allow', 'Allow'],
  ['require', 'Require'],
  ['supported', 'Supported'],
  ['unsupported', 'Unsupported'],
  ['event', 'Event'],
  ['allow-events', 'Allow-Events'],
  ['subscription-state', 'Subscription-State'],
  ['proxy-authenticate', 'Proxy-Authenticate'],
  ['proxy-authentication-info', 'Proxy-Authentication-Info'],
  ['proxy-authorization', 'Proxy-Authorization'],
  ['authorization', 'Authorization'],
  ['www-authenticate', 'WWW-Authenticate'],
  ['authentication-info', 'Authentication-Info'],
  ['error-info', 'Error-Info'],
  ['warning', 'Warning'],
  ['refer-to', 'Refer-To'],
  ['referred-by', 'Referred-By'],
  ['replaces', 'Replaces'],
  ['session-expires', 'Session-Expires'],
  ['min-se', 'Min-SE'],
  ['path', 'Path'],
  ['service-route', 'Service-Route'],
  ['reason', 'Reason'],
  ['security-client', 'Security-Client'],
  ['security-server', 'Security-Server'],
  ['security-verify', 'Security-Verify'],
  ['privacy', 'Privacy'],
  ['sip-etag', 'SIP-ETag'],
  ['sip-if-match', 'SIP-If-Match'],
  ['mime-version', 'MIME-Version'],
  ['content-type', 'Content-Type'],
  ['content-encoding', 'Content-Encoding'],
  ['content-language', 'Content-Language'],
  ['content-disposition', 'Content-Disposition'],
  ['content-length', 'Content-Length'],
];

const CANONICAL = new Map(KNOWN_HEADERS);
const RANK = new Map(KNOWN_HEADERS.map(([key], index) => [key, index]));

/**
 * Header names as written map to their keys through this cache: every message asks for
 * the key of each header several times, and the names in use are few. Bounded, so a peer
 * inventing names cannot grow it.
 */
const KEYS = new Map<string, string>();
const KEYS_CACHED = 1024;

/** Lower-case full header name: the key every lookup uses (compact forms expanded). */
export function headerKey(name: string): string {
  const cached = KEYS.get(name);
  if (cached !== undefined) return cached;
  const lower = name.trim().toLowerCase();
  const key = COMPACT_FORMS.get(lower) ?? lower;
  if (KEYS.size < KEYS_CACHED) KEYS.set(name, key);
  return key;
}

/** sofia's spelling for known headers; unknown headers keep the name they were given. */
export function canonicalName(name: string): string {
  return CANONICAL.get(headerKey(name)) ?? name.trim();
}

/** Sort position in sofia's serialisation order; all unknown headers share the last one. */
export function headerRank(name: string): number {
  return RANK.get(headerKey(name)) ?? KNOWN_HEADERS.length;
}

// ---------------------------------------------------------------------------------------
// Tokenising helpers that respect quoted strings and <...> URIs.

/** Splits on `separator` outside double quotes and angle brackets. */
export function splitOutside(value: string, separator: string): string[] {
  // Nothing to step over: a plain split gives the same parts.
  if (!value.includes('"') && !value.includes('<')) return value.split(separator);
  const parts: string[] = [];
  let start = 0;
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuotes) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuotes = false;
      continue;
    }
    if (ch === '"') inQuotes = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if (ch === separator && !inAngle) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

function indexOutsideQuotes(value: string, ch: string): number {
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === ch) return i;
  }
  return -1;
}

/** `name = value` → `name=value`, as sofia prints a generic parameter. */
function normalizeParam(param: string): string {
  const eq = param.indexOf('=');
  if (eq === -1) return param.trim();
  return `${param.slice(0, eq).trim()}=${param.slice(eq + 1).trim()}`;
}

/** `value ; a = 1 ;b` → `value;a=1;b`. */
function normalizeParamList(value: string): string {
  const [first = '', ...params] = splitOutside(value, ';');
  return [first.trim(), ...params.map(normalizeParam).filter((p) => p.length > 0)].join(';');
}

function paramValue(params: readonly string[], name: string): string | undefined {
  for (const param of params) {
    const eq = param.indexOf('=');
    const key = (eq === -1 ? param : param.slice(0, eq)).trim().toLowerCase();
    if (key === name) return eq === -1 ? '' : param.slice(eq + 1).trim();
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// name-addr (From, To, Contact, Route, ...)

export interface NameAddr {
  /** Display name as written, quotes included. */
  readonly display: string | undefined;
  readonly uri: string;
  /** Header parameters, each `name` or `name=value`, already normalised. */
  readonly params: readonly string[];
}

/** Parses one name-addr or addr-spec; undefined if it cannot be one (unbalanced <>, empty). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const text = value.trim();
  if (text.length === 0) return undefined;
  const parts = splitOutside(text, ';');
  const head = parts[0]!.trim();
  const params = parts.slice(1).map(normalizeParam).filter((p) => p.length > 0);
  const lt = indexOutsideQuotes(head, '<');
  if (lt === -1) {
    if (head.includes('>') || head.includes('"') || /\s/.test(head)) return undefined;
    return { display: undefined, uri: head, params };
  }
  const gt = head.indexOf('>', lt);
  if (gt === -1 || gt !== head.length - 1) return undefined;
  const display = head.slice(0, lt).trim();
  const uri = head.slice(lt + 1, gt).trim();
  if (uri.length === 0) return undefined;
  return { display: display.length > 0 ? display : undefined, uri, params };
}

/** sofia always prints the URI in angle brackets: `sip:a@b;tag=1` → `<sip:a@b>;tag=1`. */
export function formatNameAddr(addr: NameAddr): string {
  const display = addr.display === undefined ? '' : `${addr.display} `;
  return `${display}<${addr.uri}>${addr.params.map((p) => `;${p}`).join('')}`;
}

export function tagOf(addr: NameAddr): string | undefined {
  const tag = paramValue(addr.params, 'tag');
  return tag === undefined || tag.length === 0 ? undefined : tag;
}

export function withTag(addr: NameAddr, tag: string): NameAddr {
  return { ...addr, params: [...addr.params.filter((p) => !/^tag(=|$)/i.test(p)), `tag=${tag}`] };
}

export function withoutTag(addr: NameAddr): NameAddr {
  return { ...addr, params: addr.params.filter((p) => !/^tag(=|$)/i.test(p)) };
}

/** A host as written in a URI or Via: IPv6 literals in brackets. */
export function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

// ---------------------------------------------------------------------------------------
// Via

export interface Via {
  /** `SIP/2.0/UDP` with the transport upper-cased. */
  readonly protocol: string;
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  /** Parameters in order, each `name` or `name=value`. */
  readonly params: readonly string[];
}

const SENT_BY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?$/;

/** Parses one via-parm; undefined when it is not well formed. */
export function parseVia(value: string): Via | undefined {
  const [head = '', ...rawParams] = splitOutside(value.trim(), ';');
  const match = /^([A-Za-z]+)\s*\/\s*([0-9.]+)\s*\/\s*([A-Za-z\-]+)\s+(\S+)$/.exec(head.trim());
  if (!match) return undefined;
  const [, name, version, transport, sentBy] = match;
  const hostPort = SENT_BY.exec(sentBy!);
  if (!hostPort) return undefined;
  const port = hostPort[2] === undefined ? undefined : Number(hostPort[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const params = rawParams.map(normalizeParam).filter((p) => p.length > 0);
  return {
    protocol: `${name!.toUpperCase()}/${version}/${transport!.toUpperCase()}`,
    transport: transport!.toUpperCase(),
    host: hostPort[1]!,
    port,
    params,
  };
}

export function parseViaList(value: string): Via[] | undefined {
  const vias: Via[] = [];
  for (const part of splitOutside(value, ',')) {
    const via = parseVia(part);
    if (!via) return undefined;
    vias.push(via);
  }
  return vias;
}

export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol} ${via.host}${port}${via.params.map((p) => `;${p}`).join('')}`;
}

export function viaParam(via: Via, name: string): string | undefined {
  return paramValue(via.params, name);
}

/** Sets `name=value`, in place when present (sofia's msg_header_replace_param), else appended. */
export function withViaParam(via: Via, name: string, value: string): Via {
  const entry = `${name}=${value}`;
  const index = via.params.findIndex((p) => p.split('=')[0]!.trim().toLowerCase() === name);
  const params = [...via.params];
  if (index === -1) params.push(entry);
  else params[index] = entry;
  return { ...via, params };
}

export function withoutViaParam(via: Via, name: string): Via {
  return { ...via, params: via.params.filter((p) => p.split('=')[0]!.trim().toLowerCase() !== name) };
}

// ---------------------------------------------------------------------------------------
// Re-encoding values the way sofia does when it builds a message.

const NAME_ADDR_HEADERS = new Set(['from', 'to', 'contact', 'route', 'record-route', 'refer-to', 'referred-by', 'path', 'service-route']);
const LIST_HEADERS = new Set([
  'allow',
  'require',
  'supported',
  'unsupported',
  'proxy-require',
  'allow-events',
  'content-encoding',
  'content-language',
  'accept-encoding',
  'accept-language',
  'in-reply-to',
]);
const PARAM_HEADERS = new Set(['reason', 'content-type', 'content-disposition', 'event', 'subscription-state', 'session-expires', 'min-se', 'accept', 'retry-after', 'call-info', 'error-info', 'accept-contact', 'reject-contact']);
const AUTH_HEADERS = new Set(['www-authenticate', 'authorization', 'proxy-authenticate', 'proxy-authorization']);
const AUTH_INFO_HEADERS = new Set(['authentication-info', 'proxy-authentication-info']);

function normalizeAuth(value: string): string {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  if (space === -1) return trimmed;
  const scheme = trimmed.slice(0, space);
  const params = splitOutside(trimmed.slice(space + 1), ',').map(normalizeParam).filter((p) => p.length > 0);
  return `${scheme} ${params.join(', ')}`;
}

/** How sofia prints a header value it encodes itself (whitespace around separators dropped, URIs bracketed). */
export function normalizeHeaderValue(name: string, value: string): string {
  const key = headerKey(name);
  const trimmed = value.trim();
  if (key === 'via') {
    const vias = parseViaList(trimmed);
    return vias ? vias.map(formatVia).join(', ') : trimmed;
  }
  if (NAME_ADDR_HEADERS.has(key)) {
    if (key === 'contact' && trimmed === '*') return trimmed;
    const addrs = splitOutside(trimmed, ',').map(parseNameAddr);
    return addrs.every((a): a is NameAddr => a !== undefined) ? addrs.map(formatNameAddr).join(', ') : trimmed;
  }
  if (key === 'cseq') return trimmed.split(/\s+/).join(' ');
  if (LIST_HEADERS.has(key)) {
    return splitOutside(trimmed, ',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0)
      .join(', ');
  }
  if (PARAM_HEADERS.has(key)) {
    return splitOutside(trimmed, ',')
      .map(normalizeParamList)
      .filter((item) => item.length > 0)
      .join(', ');
  }
  if (AUTH_HEADERS.has(key)) return normalizeAuth(trimmed);
  if (AUTH_INFO_HEADERS.has(key)) return splitOutside(trimmed, ',').map(normalizeParam).join(', ');
  return trimmed;
}
