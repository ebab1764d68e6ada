/**
 * A SIP client's side of digest authentication, written independently of the code under
 * test (node:crypto directly), so the tests check our server against the arithmetic
 * phones do rather than against itself.
 */
import { createHash } from 'node:crypto';

export interface DigestReply {
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly nonce: string;
  readonly method: string;
  readonly uri: string;
  readonly algorithm: 'MD5' | 'SHA-256';
  readonly nc: number;
  readonly cnonce: string;
  /** baresip: libre's "name=value, " layout with algorithm last; compact: no spaces at all. */
  readonly layout: 'baresip' | 'compact';
}

export function digestReply(reply: DigestReply): string {
  const h = (data: string) => createHash(reply.algorithm === 'MD5' ? 'md5' : 'sha256').update(data).digest('hex');
  const nc = reply.nc.toString(16).padStart(8, '0');
  const ha1 = h(`${reply.username}:${reply.realm}:${reply.password}`);
  const ha2 = h(`${reply.method}:${reply.uri}`);
  const response = h(`${ha1}:${reply.nonce}:${nc}:${reply.cnonce}:auth:${ha2}`);
  const params = [
    `username="${reply.username}"`,
    `realm="${reply.realm}"`,
    `nonce="${reply.nonce}"`,
    `uri="${reply.uri}"`,
    `response="${response}"`,
    `cnonce="${reply.cnonce}"`,
    'qop=auth',
    `nc=${nc}`,
    `algorithm=${reply.algorithm}`,
  ];
  return `Digest ${params.join(reply.layout === 'baresip' ? ', ' : ',')}`;
}
