/**
 * The RFC 4475 torture messages (test/sip/rfc4475/, the 49 files of ../shared/sip-torture/
 * byte for byte; INDEX.md there says where they come from) and how a test sends them to
 * the edge under test. A request is adapted in exactly two places, so that it reaches this
 * edge and its answer reaches the test's peer; everything else (folding, case, escapes,
 * bodies, the broken parts) stays as the RFC wrote it:
 * - the top Via's transport becomes the one the message goes over (the server drops a
 *   request whose top Via names another transport, as sofia-sip does) and its sent-by the
 *   peer's own address, so that a UDP answer comes back to the peer and not to the RFC's
 *   192.0.2.x (without rport, answers go to the Via's sent-by, RFC 3261 §18.2.2);
 * - the host[:port] of a sip:/sips: Request-URI becomes the edge's.
 * Any further message in the same bytes (dblreq's trailing INVITE) is not adapted.
 * Responses are sent unchanged.
 */
import { readFileSync } from 'node:fs';
import type { HostPort } from './drachtio-target.js';

const DIRECTORY = new URL('../../sip/rfc4475/', import.meta.url);

export function tortureMessage(name: string): Buffer {
  return readFileSync(new URL(`${name}.dat`, DIRECTORY));
}

/** The top Via (long or compact name, folded or not): up to its transport, the transport, the space, the sent-by. */
const TOP_VIA = /^(v|via)([ \t]*:\s*SIP\s*\/\s*[^\s/]+\s*\/\s*)([A-Za-z]+)(\s+)([^\s;,]+)/im;
/** A sip:/sips: URI's host[:port], after the user part if there is one. */
const SIP_URI_HOST = /(sips?:(?:[^@\s>]*@)?)([^;?>\s:@]+(?::\d+)?)/i;

/** The message as sent from `peer` (its address as it appears in a Via) over `transport` to `edge`. */
export function adaptToEdge(message: Buffer, transport: 'udp' | 'tcp', peer: string, edge: HostPort): Buffer {
  const text = message.toString('latin1');
  if (/^SIP\//i.test(text)) return message;
  const headerEnd = text.indexOf('\r\n\r\n');
  const head = headerEnd === -1 ? text : text.slice(0, headerEnd);
  const lineEnd = head.indexOf('\r\n');
  const requestLine = head.slice(0, lineEnd).replace(SIP_URI_HOST, (_all, prefix: string) => `${prefix}${edge.host}:${edge.port}`);
  const headers = head
    .slice(lineEnd)
    .replace(TOP_VIA, (_all, name: string, upTo: string, _transport: string, space: string) => `${name}${upTo}${transport.toUpperCase()}${space}${peer}`);
  // latin1 both ways keeps every byte (UTF-8, NULs, the binary part of mpart01) as it was.
  return Buffer.concat([Buffer.from(requestLine + headers, 'latin1'), message.subarray(head.length)]);
}
