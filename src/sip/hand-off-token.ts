/**
 * The proof a node adds to an INVITE it proxies to the meeting's owner, so the owner takes
 * the call without challenging the caller again: `X-Gateway-Handoff:
 * <payload>.<mac>`, both base64url, where the payload says who authenticated the caller
 * (a credential's username or a trunk), for which meeting, on which node and when, and the
 * MAC is HMAC-SHA256 with SIP_CLUSTER_SECRET over the payload, the INVITE's Call-ID and its
 * From tag. So a token proves the caller was authenticated by a node holding the secret for
 * this very INVITE; it is valid for TOKEN_TTL_MS and spent on first use (the owner records
 * its MAC as a spent nonce, checking and recording in one step), so it cannot be replayed
 * on another call, or on this one after it ended. Anything short of that is a forgery: the INVITE is refused as an
 * unauthenticated one would be, and the header is never trusted from anyone else.
 */
import { type KeyObject, createHmac, createSecretKey } from 'node:crypto';
import { sameSecret } from '../same-secret.js';

export const HAND_OFF_HEADER = 'X-Gateway-Handoff';
/** How long a token is good for: a proxied INVITE arrives within milliseconds. */
export const TOKEN_TTL_MS = 10_000;
/** Nodes' clocks differ a little: a token this far "in the future" is still taken. */
const CLOCK_SKEW_MS = 2_000;
const MIN_SECRET_BYTES = 16;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{43}$/;

/** Who the forwarding node authenticated: a credential (by username) or a trunk (by id). */
export type HandedOffCaller = { readonly username: string } | { readonly trunk: string };

export interface HandOff {
  /** The node that authenticated the caller and forwarded the INVITE. */
  readonly fromNode: string;
  readonly meetingId: string;
  readonly caller: HandedOffCaller;
  /** The token's MAC: what is recorded as spent. */
  readonly mac: string;
}

/** What the INVITE says about being handed off: nothing, a valid hand-off, or a forgery (why, for the debug log). */
export type HandOffCheck = { readonly kind: 'none' } | { readonly kind: 'valid'; readonly handOff: HandOff } | { readonly kind: 'forged'; readonly reason: string };

/** The parts of the INVITE a token is bound to. */
export interface InviteIdentity {
  readonly callId: string;
  readonly fromTag: string;
}

interface Payload {
  readonly v: 1;
  readonly node: string;
  readonly at: number;
  readonly meeting: string;
  readonly user?: string;
  readonly trunk?: string;
}

export class HandOffTokens {
  // A KeyObject in a private field: the secret cannot leak through logging, inspect or JSON.
  readonly #key: KeyObject;
  readonly #now: () => number;

  constructor(secret: string, now: () => number = Date.now) {
    if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) throw new RangeError(`the cluster secret must be at least ${MIN_SECRET_BYTES} bytes`);
    this.#key = createSecretKey(Buffer.from(secret, 'utf8'));
    this.#now = now;
  }

  issue(invite: InviteIdentity, handOff: { readonly fromNode: string; readonly meetingId: string; readonly caller: HandedOffCaller }): string {
    const payload: Payload = {
      v: 1,
      node: handOff.fromNode,
      at: this.#now(),
      meeting: handOff.meetingId,
      ...('username' in handOff.caller ? { user: handOff.caller.username } : { trunk: handOff.caller.trunk }),
    };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.#mac(body, invite).toString('base64url')}`;
  }

  /** header: every value of the header the INVITE carries (undefined: none). */
  check(header: string | undefined, invite: InviteIdentity): HandOffCheck {
    if (header === undefined) return { kind: 'none' };
    const token = header.trim();
    if (!TOKEN_PATTERN.test(token)) return { kind: 'forged', reason: 'malformed hand-off token' };
    const [body = '', mac = ''] = token.split('.');
    if (!sameSecret(this.#mac(body, invite), Buffer.from(mac, 'base64url'))) return { kind: 'forged', reason: 'hand-off token MAC does not match' };
    const payload = readPayload(body);
    if (!payload) return { kind: 'forged', reason: 'hand-off token payload unreadable' };
    const age = this.#now() - payload.at;
    if (age > TOKEN_TTL_MS || age < -CLOCK_SKEW_MS) return { kind: 'forged', reason: 'hand-off token expired' };
    const caller = payload.user !== undefined ? { username: payload.user } : { trunk: payload.trunk ?? '' };
    return { kind: 'valid', handOff: { fromNode: payload.node, meetingId: payload.meeting, caller, mac } };
  }

  #mac(body: string, invite: InviteIdentity): Buffer {
    // Newline-separated: neither a Call-ID nor a From tag nor base64url can hold one.
    return createHmac('sha256', this.#key).update(`${body}\n${invite.callId}\n${invite.fromTag}`, 'utf8').digest();
  }
}

function readPayload(body: string): Payload | undefined {
  try {
    const value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<Payload>;
    const textual = (field: unknown) => typeof field === 'string' && field.length > 0;
    if (value.v !== 1 || !textual(value.node) || !textual(value.meeting) || typeof value.at !== 'number') return undefined;
    if (textual(value.user) === textual(value.trunk)) return undefined;
    return value as Payload;
  } catch {
    return undefined;
  }
}
