/**
 * SIP digest credentials: issued through the API, looked up by the SIP side. A
 * credential's password is generated here, handed out once and then forgotten: only its
 * HA1 digests are stored, so neither the store nor any log can give it away.
 */
import { randomInt } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { GatewayStore, SipCredential } from '../store/store.js';
import { hashCredential } from './digest-hash.js';

/** What the caller gets back exactly once: the only time the password exists outside the caller's phone. */
export interface IssuedSipCredential {
  readonly username: string;
  readonly password: string;
  /**
   * Where to dial. For a credential scoped to a meeting, that meeting's URI. For an
   * unscoped one, the template `sip:<meetingId>@<domain>`: the literal placeholder cannot
   * be mistaken for a meeting id ("<" is not allowed in one) and tells the user what to fill in.
   */
  readonly sipUri: string;
  readonly meetingId?: string;
}

/** A credential as the API lists it: nothing that helps guess or replay the password. */
export interface SipCredentialSummary {
  readonly username: string;
  readonly meetingId?: string;
  /** Set on a credential minted for one Twilio call. */
  readonly twilioCallSid?: string;
  readonly expiresAt?: number;
  readonly createdAt: number;
}

/** What an INVITE says about the Twilio call it belongs to, from its headers. */
export interface TwilioInvite {
  /** X-Twilio-CallSid (twilio-headers.ts). */
  readonly callSid?: string | undefined;
  /** X-Webhook-CallSid (twilio-headers.ts). */
  readonly webhookCallSid?: string | undefined;
}

const ANY_MEETING_PLACEHOLDER = '<meetingId>';

/** Unambiguous in any case-insensitive SIP stack and easy to read out: RFC 4648 base32, lowercase. */
const USERNAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const USERNAME_RANDOM_CHARS = 10;
// Letters and digits only: every softphone's settings form and every SIP stack accepts them unquoted.
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 24 of 62 symbols: about 143 bits, far beyond offline guessing of a leaked HA1. */
const PASSWORD_LENGTH = 24;
const USERNAME_ATTEMPTS = 5;
/** How long a credential minted for a Twilio call can be used: Twilio dials within a second or two. */
export const TWILIO_CREDENTIAL_TTL_MS = 60_000;

export class SipCredentials {
  constructor(
    private readonly store: GatewayStore,
    private readonly meetings: Pick<MeetingService, 'getJoinable'>,
    private readonly options: { readonly sipDomain: string },
    private readonly log: Logger,
  ) {}

  /** Issues a credential; scoped to meetingId when given (not_found / gone unless that meeting is active). */
  async create(request: { readonly meetingId?: string } = {}): Promise<IssuedSipCredential> {
    const { meetingId } = request;
    if (meetingId !== undefined) await this.meetings.getJoinable(meetingId);
    const issued = await this.issue(meetingId, undefined);
    this.log.info({ username: issued.username, meetingId }, 'SIP credential created');
    return issued;
  }

  /**
   * A credential for the one INVITE Twilio sends for this call: scoped to the meeting,
   * valid for TWILIO_CREDENTIAL_TTL_MS and gone once used, so the password that travels
   * through Twilio's TwiML is worth nothing afterwards. Expired ones are swept here.
   */
  async mintForTwilioCall(request: { readonly meetingId: string; readonly callSid: string }): Promise<IssuedSipCredential> {
    const now = Date.now();
    for (const stale of await this.store.listCredentials()) {
      if (hasExpired(stale, now)) await this.store.deleteCredential(stale.username);
    }
    return this.issue(request.meetingId, { callSid: request.callSid, expiresAt: now + TWILIO_CREDENTIAL_TTL_MS });
  }

  private async issue(meetingId: string | undefined, twilioCall: SipCredential['twilioCall']): Promise<IssuedSipCredential> {
    const realm = this.options.sipDomain;
    const password = randomString(PASSWORD_ALPHABET, PASSWORD_LENGTH);
    const username = await this.addWithUnusedUsername((name) => ({
      username: name,
      realm,
      ...hashCredential(name, realm, password),
      ...(meetingId !== undefined ? { meetingId } : {}),
      ...(twilioCall !== undefined ? { twilioCall } : {}),
      createdAt: Date.now(),
    }));
    return {
      username,
      password,
      sipUri: `sip:${meetingId ?? ANY_MEETING_PLACEHOLDER}@${realm}`,
      ...(meetingId !== undefined ? { meetingId } : {}),
    };
  }

  /** Oldest first. */
  async list(): Promise<SipCredentialSummary[]> {
    return (await this.store.listCredentials())
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(({ username, meetingId, twilioCall, createdAt }) => ({
        username,
        ...(meetingId !== undefined ? { meetingId } : {}),
        ...(twilioCall !== undefined ? { twilioCallSid: twilioCall.callSid, expiresAt: twilioCall.expiresAt } : {}),
        createdAt,
      }));
  }

  /** Deletes the credential; not_found when there is none. Only new calls are refused: nothing here hangs up calls in progress. */
  async revoke(username: string): Promise<void> {
    if (!(await this.store.deleteCredential(username))) {
      throw new GatewayError('not_found', `SIP credential "${username}" does not exist`);
    }
    this.log.info({ username }, 'SIP credential revoked');
  }

  /** The stored record (HA1s included) for digest verification; undefined when unknown or expired. */
  async lookup(username: string): Promise<SipCredential | undefined> {
    const credential = await this.store.getCredential(username);
    if (credential && hasExpired(credential, Date.now())) {
      await this.store.deleteCredential(username);
      return undefined;
    }
    return credential;
  }

  /**
   * Admits a caller whose credential the SIP authenticator accepted (its meeting scope
   * included: another meeting's credential is refused there like a wrong password), or
   * throws forbidden. A credential minted for a Twilio call is spent here: when the INVITE
   * names Twilio calls, one must be the call it was minted for (either header may name
   * it), and only the first INVITE to get this far deletes it.
   */
  async admit(credential: SipCredential, invite: TwilioInvite): Promise<void> {
    const { twilioCall } = credential;
    if (!twilioCall) return;
    const named = [invite.callSid, invite.webhookCallSid].filter((sid) => sid !== undefined);
    if (named.length > 0 && !named.includes(twilioCall.callSid)) {
      throw new GatewayError('forbidden', 'credential was minted for another Twilio call');
    }
    if (!(await this.store.deleteCredential(credential.username))) {
      throw new GatewayError('forbidden', 'single-use credential has already been used');
    }
  }

  /** Usernames are random, so a clash is rare; it is retried rather than overwriting another credential. */
  private async addWithUnusedUsername(record: (username: string) => SipCredential): Promise<string> {
    for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt++) {
      const username = `u${randomString(USERNAME_ALPHABET, USERNAME_RANDOM_CHARS)}`;
      if (await this.store.addCredential(record(username))) return username;
    }
    throw new GatewayError('unavailable', 'could not find an unused SIP username; try again');
  }
}

/** Only credentials minted for a Twilio call expire. */
function hasExpired(credential: SipCredential, now: number): boolean {
  return credential.twilioCall !== undefined && credential.twilioCall.expiresAt <= now;
}

/** randomInt draws from the CSPRNG without modulo bias. */
function randomString(alphabet: string, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet.charAt(randomInt(alphabet.length));
  return text;
}
