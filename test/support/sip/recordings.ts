/**
 * The reference recordings of drachtio-server (json/NN-*.json, copied into
 * test/drachtio-standin/recordings) and the bookkeeping to replay them against a live
 * target: recorded ports, Call-IDs, tags and branches are mapped to the live ones so live
 * messages can be compared with recorded ones byte for byte.
 */
import { readFileSync } from 'node:fs';
import { parseWireMessage, type WireMessage } from '../../../src/drachtio-standin/wire-codec.js';
import type { WireFrame } from './wire-recorder.js';

export interface RecordedEvent {
  readonly id: string | null;
  readonly t: number;
  readonly kind: 'sip' | 'wire' | 'tcp';
  readonly direction: 'to-server' | 'from-server';
  readonly src: string;
  readonly dst: string;
  readonly transport: string;
  readonly text?: string;
  readonly base64?: string;
  readonly note?: string;
}

export interface Recording {
  readonly title: string;
  readonly events: readonly RecordedEvent[];
}

const DIRECTORY = new URL('../../drachtio-standin/recordings/', import.meta.url);

export function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIRECTORY), 'utf8')) as Recording;
}

export function event(recording: Recording, id: string): RecordedEvent {
  const found = recording.events.find((e) => e.id === id);
  if (!found) throw new Error(`${recording.title}: no event ${id}`);
  return found;
}

/** The bytes of a recorded SIP message (base64 ones included). */
export function recordedBytes(recording: Recording, id: string): Buffer {
  const e = event(recording, id);
  return e.base64 !== undefined ? Buffer.from(e.base64, 'base64') : Buffer.from(e.text ?? '', 'utf8');
}

/** The recorded wire frames, bodies without their length prefix. */
export function recordedWireFrames(recording: Recording): Array<{ readonly id: string; readonly direction: 'to-server' | 'from-server'; readonly body: string }> {
  return recording.events
    .filter((e) => e.kind === 'wire')
    .map((e) => ({ id: e.id!, direction: e.direction, body: e.text!.slice(e.text!.indexOf('#') + 1) }));
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const WIRE_TIME = /^\d{2}:\d{2}:\d{2}\.\d{6}$/;
const HANDSHAKE = new Set(['authenticate', 'route', 'ping']);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Recorded ↔ live substitutions for one replay. `adapt` turns recorded text into what to
 * send now; `normalize` turns live text back into recorded terms for comparison.
 */
export class ReplayMapping {
  private readonly pairs: Array<[recorded: string, live: string]> = [];
  /** Bare port numbers in wire fields. */
  private readonly ports = new Map<string, string>();

  constructor(
    readonly recordedServer: string,
    readonly liveServer: string,
  ) {
    this.add(recordedServer, liveServer);
    const [recordedPort, livePort] = [recordedServer.split(':').pop()!, liveServer.split(':').pop()!];
    this.ports.set(livePort, recordedPort);
  }

  /** A recorded peer port now served by `live`: in host:port, rport= and bare wire fields. */
  addPort(recorded: number, live: number): this {
    this.add(`127.0.0.1:${recorded}`, `127.0.0.1:${live}`);
    this.add(`rport=${recorded}`, `rport=${live}`);
    this.ports.set(String(live), String(recorded));
    return this;
  }

  add(recorded: string, live: string): this {
    if (recorded !== live && !this.pairs.some(([r]) => r === recorded)) this.pairs.push([recorded, live]);
    return this;
  }

  /** Makes a recorded Call-ID unique to this run, so repeated runs never collide on a real server. */
  uniqueCallId(recorded: string): this {
    return this.add(recorded, `${recorded}-${Math.random().toString(36).slice(2, 8)}`);
  }

  adapt(recorded: string): string {
    return this.replace(recorded, (pair) => pair);
  }

  normalize(live: string): string {
    return this.replace(live, ([recorded, liveText]) => [liveText, recorded]);
  }

  /** Learns the server-chosen To tag, and the branch and From tag of server-built requests, from a live/recorded pair. */
  learn(recorded: string, live: string): void {
    for (const pattern of [/^To:.*;tag=([^;\r\n]+)/m, /^From:.*;tag=([^;\r\n]+)/m, /^Via:.*;branch=([^;\r\n]+)/m]) {
      const r = pattern.exec(recorded)?.[1];
      const l = pattern.exec(live)?.[1];
      if (r && l) this.add(r, l);
    }
  }

  /** A wire frame body in recorded terms: ids by first appearance, times, sizes and ports normalised. */
  normalizeWire(body: string, ids: Map<string, string>, live: boolean): string {
    const crlf = body.indexOf('\r\n');
    const leader = crlf === -1 ? body : body.slice(0, crlf);
    const sip = crlf === -1 ? '' : body.slice(crlf);
    const fields = leader.split('|').map((field) => {
      if (WIRE_TIME.test(field)) return '<time>';
      if (/^\d+$/.test(field)) return live ? (this.ports.get(field) ?? field) : field;
      return live ? this.normalize(field) : field;
    });
    const text = `${fields.join('|')}${live ? this.normalize(sip) : sip}`;
    return text.replace(UUID, (uuid) => {
      if (!ids.has(uuid)) ids.set(uuid, `<uuid-${ids.size + 1}>`);
      return ids.get(uuid)!;
    });
  }

  /** Replaces longest first, so a value that is a prefix of another (a port, a tag) cannot clip it. */
  private replace(text: string, orient: (pair: [string, string]) => [string, string]): string {
    let out = text;
    const oriented = this.pairs.map(orient).sort((a, b) => b[0].length - a[0].length);
    for (const [from, to] of oriented) out = out.replace(new RegExp(escapeRegExp(from), 'g'), to);
    return out;
  }
}

function isHandshake(message: WireMessage): boolean {
  if (HANDSHAKE.has(message.type)) return true;
  // replies to authenticate (hostports), route (bare OK) and ping (pong)
  return message.type === 'response' && (message.args.length <= 2 || message.args[2] === 'pong' || (message.args[2] ?? '').startsWith('tcp/'));
}

/** Live frames minus the connection handshake. */
export function sipTraffic(frames: readonly WireFrame[]): WireFrame[] {
  return frames.filter((f) => !isHandshake(f.message));
}

/** Is a recorded frame body part of the handshake (left out of comparisons like live ones)? */
export function isHandshakeBody(body: string): boolean {
  return isHandshake(parseWireMessage(body));
}
