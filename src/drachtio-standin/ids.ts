/** Identifiers and timestamps in the shapes drachtio-server produces them. */
import { randomInt, randomUUID } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** A To/From tag: 13 alphanumerics, like sofia-sip's. */
export function newTag(): string {
  return randomAlnum(13);
}

/** A Via branch with the RFC 3261 magic cookie and a sofia-like 13-character suffix. */
export function newBranch(): string {
  return `z9hG4bK${randomAlnum(13)}`;
}

/** Wire message ids and transaction ids are UUIDv4. */
export function newUuid(): string {
  return randomUUID();
}

/** The `hh:mm:ss.uuuuuu` (UTC) time stamp of wire messages. */
export function wireTime(epochMicros: number = Math.floor((performance.timeOrigin + performance.now()) * 1000)): string {
  const micros = epochMicros % 1_000_000;
  const secondsOfDay = Math.floor(epochMicros / 1_000_000) % 86_400;
  const hh = Math.floor(secondsOfDay / 3600);
  const mm = Math.floor((secondsOfDay % 3600) / 60);
  const ss = secondsOfDay % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(hh)}:${two(mm)}:${two(ss)}.${String(micros).padStart(6, '0')}`;
}
