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
import { hashCredential } from './digest/digest-hash.js';

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
  readonly createdAt: number;
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
    const realm = this.options.sipDomain;
    const password = randomString(PASSWORD_ALPHABET, PASSWORD_LENGTH);
    const username = await this.addWithUnusedUsername((name) => ({
      username: name,
      realm,
      ...hashCredential(name, realm, password),
      ...(meetingId !== undefined ? { meetingId } : {}),
      createdAt: Date.now(),
    }));
    this.log.info({ username, meetingId }, 'SIP credential created');
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
      .map(({ username, meetingId, createdAt }) => ({ username, ...(meetingId !== undefined ? { meetingId } : {}), createdAt }));
  }

  /** Deletes the credential; not_found when there is none. Only new calls are refused: nothing here hangs up calls in progress. */
  async revoke(username: string): Promise<void> {
    if (!(await this.store.deleteCredential(username))) {
      throw new GatewayError('not_found', `SIP credential "${username}" does not exist`);
    }
    this.log.info({ username }, 'SIP credential revoked');
  }

  /** The stored record (HA1s included) for digest verification; undefined when unknown. */
  async lookup(username: string): Promise<SipCredential | undefined> {
    return this.store.getCredential(username);
  }

  /** Whether an authenticated caller may join meetingId; false means the SIP layer answers 403. */
  mayEnter(credential: Pick<SipCredential, 'meetingId'>, meetingId: string): boolean {
    return credential.meetingId === undefined || credential.meetingId === meetingId;
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

/** randomInt draws from the CSPRNG without modulo bias. */
function randomString(alphabet: string, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet.charAt(randomInt(alphabet.length));
  return text;
}
