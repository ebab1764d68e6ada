/** HTTP digest (RFC 2617, MD5, qop=auth) for SIP: what the recorded app challenged with and callers answered. */
import { createHash } from 'node:crypto';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

export interface DigestParams {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly cnonce: string;
  readonly nc: string;
  readonly qop: string;
}

export function digestResponse(method: string, password: string, p: DigestParams): string {
  const ha1 = md5(`${p.username}:${p.realm}:${password}`);
  const ha2 = md5(`${method}:${p.uri}`);
  return md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
}

/** The parameters of a `Digest a="b", c=d` credentials value. */
export function parseDigest(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of value.replace(/^Digest\s+/i, '').matchAll(/([A-Za-z]+)=(?:"([^"]*)"|([^,\s]+))/g)) {
    params[match[1]!.toLowerCase()] = match[2] ?? match[3] ?? '';
  }
  return params;
}

/** The response an Authorization with these parsed parameters must carry (absent ones count as empty). */
export function expectedResponse(method: string, password: string, p: Readonly<Record<string, string>>): string {
  return digestResponse(method, password, {
    username: p.username ?? '',
    realm: p.realm ?? '',
    nonce: p.nonce ?? '',
    uri: p.uri ?? '',
    cnonce: p.cnonce ?? '',
    nc: p.nc ?? '',
    qop: p.qop ?? '',
  });
}

/**
 * Re-signs the Authorization header of a SIP request for its (possibly rewritten) uri.
 * Returns the request and the old → new response hash.
 */
export function resign(request: string, password: string): { text: string; recorded?: string; live?: string } {
  const line = /^Authorization: (.*)$/m.exec(request);
  if (!line) return { text: request };
  const p = parseDigest(line[1]!);
  const method = request.slice(0, request.indexOf(' '));
  const live = expectedResponse(method, password, p);
  return { text: request.replace(`response="${p.response}"`, `response="${live}"`), recorded: p.response, live };
}
