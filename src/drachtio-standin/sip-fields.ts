/** Typed access to the header fields the transaction and dialog layers key on. */
import { headerKey, parseNameAddr, parseViaList, tagOf, type NameAddr, type Via } from './sip-headers.js';
import { headerValue, headerValues, type SipMessage } from './sip-message.js';

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

const CSEQ = /^(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$/;

export function parseCSeq(value: string): CSeq | undefined {
  const match = CSEQ.exec(value.trim());
  if (!match) return undefined;
  const seq = Number(match[1]);
  return seq < 2 ** 31 ? { seq, method: match[2]! } : undefined;
}

export function cseqOf(message: SipMessage): CSeq | undefined {
  const value = headerValue(message, 'cseq');
  return value === undefined ? undefined : parseCSeq(value);
}

/** All Vias in order, header lines and comma lists flattened; undefined if any is malformed. */
export function viasOf(message: SipMessage): Via[] | undefined {
  const vias: Via[] = [];
  for (const value of headerValues(message, 'via')) {
    const parsed = parseViaList(value);
    if (!parsed) return undefined;
    vias.push(...parsed);
  }
  return vias;
}

export function topViaOf(message: SipMessage): Via | undefined {
  return viasOf(message)?.[0];
}

export function addrOf(message: SipMessage, name: 'from' | 'to'): NameAddr | undefined {
  const value = headerValue(message, name);
  return value === undefined ? undefined : parseNameAddr(value);
}

export function tagIn(message: SipMessage, name: 'from' | 'to'): string | undefined {
  const addr = addrOf(message, name);
  return addr ? tagOf(addr) : undefined;
}

export function callIdOf(message: SipMessage): string | undefined {
  return headerValue(message, 'call-id');
}

/** The URI of the first Contact, if there is one. */
export function contactUriOf(message: SipMessage): string | undefined {
  const value = headerValue(message, 'contact');
  if (value === undefined || value.trim() === '*') return undefined;
  return parseNameAddr(value.split(',')[0] ?? '')?.uri;
}

/** Record-Route entries in order, one per URI. */
export function recordRouteOf(message: SipMessage): string[] {
  return message.headers
    .filter((h) => headerKey(h.name) === 'record-route')
    .flatMap((h) => h.value.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

export interface HostPort {
  readonly host: string;
  readonly port: number | undefined;
  readonly transport: string | undefined;
}

/** host, port and transport param of a sip:/sips: URI. */
export function uriHostPort(uri: string): HostPort | undefined {
  const match = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?]*)/i.exec(uri.trim());
  if (!match) return undefined;
  const transport = /;transport=([A-Za-z]+)/i.exec(match[3] ?? '')?.[1];
  return { host: match[1]!, port: match[2] === undefined ? undefined : Number(match[2]), transport: transport?.toLowerCase() };
}
