/**
 * Which digest challenges an INVITE gets, and which answers get in, for the algorithm
 * lists SIP_DIGEST_ALGORITHMS allows: what decides whether a softphone can dial in at all.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, readDefaults } from '../../src/config/config.js';
import type { DigestAlgorithm } from '../../src/credentials/digest-hash.js';
import { SipCredentials } from '../../src/credentials/sip-credentials.js';
import { MeetingService } from '../../src/meetings/meeting-service.js';
import { SipAuthenticator } from '../../src/sip/sip-authenticator.js';
import { MemoryNonceCountStore } from '../../src/sip/digest/nonce-count-store.js';
import type { SipRequest } from '../../src/sip/srf.js';
import { SipGuard } from '../../src/sip/guard/sip-guard.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MemorySipGuardStore } from '../../src/store/sip-guard-store.js';
import { testConfig } from '../support/test-config.js';
import { capturedLogger } from '../support/log-capture.js';
import { digestReply } from './digest/digest-client.js';

const REALM = 'sip.example.com';
const MEETING_ID = 'team-sync';
const URI = `sip:${MEETING_ID}@${REALM}`;

async function setUp(algorithms: readonly DigestAlgorithm[]) {
  const store = new MemoryStore();
  const capture = capturedLogger();
  const { log } = capture;
  const meetings = new MeetingService(store, { sipDomain: REALM, publicUrl: 'https://meet.example.com' }, log);
  const credentials = new SipCredentials(store, meetings, { sipDomain: REALM }, log);
  const identity = await credentials.create();
  const guard = new SipGuard(testConfig().sipGuard, new MemorySipGuardStore(), log);
  const authenticator = new SipAuthenticator({
    realm: REALM,
    algorithms,
    secret: undefined,
    credentials,
    nonceCounts: new MemoryNonceCountStore(),
    guard,
    slowDownMs: 0,
    log,
  });
  return { authenticator, identity, guard, credentials, meetings, capture };
}

function invite(authorization?: string): SipRequest {
  const headers = new Map(authorization === undefined ? [] : [['authorization', authorization]]);
  return {
    method: 'INVITE',
    uri: URI,
    body: '',
    callId: 'call-1@test',
    source_address: '127.0.0.1',
    protocol: 'udp',
    meta: { source: 'network' },
    get: (name) => headers.get(name.toLowerCase()),
    has: (name) => headers.has(name.toLowerCase()),
    getParsedHeader: () => ({ uri: 'sip:caller@127.0.0.1' }),
    once: () => undefined,
  };
}

interface Challenge {
  readonly value: string;
  readonly algorithm: DigestAlgorithm;
  readonly nonce: string;
}

/** The challenges of the 401 an INVITE without credentials gets, parsed. */
async function challenges(authenticator: SipAuthenticator): Promise<Challenge[]> {
  const outcome = await authenticator.authenticate(invite(), MEETING_ID);
  if (outcome.ok || outcome.status !== 401) throw new Error(`expected a 401, got ${JSON.stringify(outcome)}`);
  return outcome.challenge.map((value) => ({
    value,
    algorithm: /algorithm=([\w-]+)/.exec(value)![1] as DigestAlgorithm,
    nonce: /nonce="([^"]+)"/.exec(value)![1]!,
  }));
}

function answer(identity: { username: string; password: string }, challenge: { algorithm: DigestAlgorithm; nonce: string }) {
  return invite(digestReply({ ...identity, realm: REALM, nonce: challenge.nonce, method: 'INVITE', uri: URI, algorithm: challenge.algorithm, nc: 1, cnonce: 'c0ffee', layout: 'baresip' }));
}

describe('SipAuthenticator', () => {
  it('challenges with one MD5 digest on the default settings', async () => {
    const { authenticator } = await setUp(loadConfig({}, readDefaults()).sipDigestAlgorithms);
    const offered = await challenges(authenticator);
    expect(offered.map((c) => c.value)).toEqual([expect.stringMatching(/^Digest realm="sip\.example\.com", nonce="[^"]+", algorithm=MD5, qop="auth"$/)]);
  });

  it('lets in a phone that answers the first challenge and one that answers the last, on the defaults', async () => {
    const { authenticator, identity } = await setUp(loadConfig({}, readDefaults()).sipDigestAlgorithms);
    for (const pick of [(offered: Challenge[]) => offered[0]!, (offered: Challenge[]) => offered.at(-1)!]) {
      const picked = pick(await challenges(authenticator));
      expect(await authenticator.authenticate(answer(identity, picked), MEETING_ID)).toMatchObject({ ok: true, credential: { username: identity.username } });
    }
  });

  it('with SHA-256 asked for, offers it first and MD5 last, and accepts an answer to either', async () => {
    const { authenticator, identity } = await setUp(loadConfig({ SIP_DIGEST_ALGORITHMS: 'SHA-256,MD5' }, readDefaults()).sipDigestAlgorithms);
    const offered = await challenges(authenticator);
    expect(offered.map((c) => c.algorithm)).toEqual(['SHA-256', 'MD5']);
    expect(new Set(offered.map((c) => c.nonce)).size).toBe(1);
    // RFC 8760 clients (linphone) answer the first they support; twinkle 1.10 answers the last.
    for (const algorithm of ['SHA-256', 'MD5'] as const) {
      const picked = (await challenges(authenticator)).find((c) => c.algorithm === algorithm)!;
      expect(await authenticator.authenticate(answer(identity, picked), MEETING_ID)).toMatchObject({ ok: true });
    }
  });

  it('answers a digest in an algorithm it did not offer with a fresh challenge', async () => {
    const { authenticator, identity } = await setUp(['MD5']);
    const [offered] = await challenges(authenticator);
    const outcome = await authenticator.authenticate(answer(identity, { ...offered!, algorithm: 'SHA-256' }), MEETING_ID);
    expect(outcome).toMatchObject({ ok: false, status: 401, reason: 'Unsupported Algorithm' });
    expect(outcome.ok === false && outcome.status === 401 && outcome.challenge).toEqual([expect.stringMatching(/algorithm=MD5/)]);
  });

  it('with SHA-256 alone, refuses an MD5 answer with a fresh SHA-256 challenge', async () => {
    const { authenticator, identity } = await setUp(['SHA-256']);
    const [offered] = await challenges(authenticator);
    expect(offered!.algorithm).toBe('SHA-256');
    const outcome = await authenticator.authenticate(answer(identity, { ...offered!, algorithm: 'MD5' }), MEETING_ID);
    expect(outcome).toMatchObject({ ok: false, status: 401, reason: 'Unsupported Algorithm', challenge: [expect.stringMatching(/algorithm=SHA-256/)] });
  });

  describe('wrong credentials', () => {
    it('refuses an unknown username, a wrong password and the right password of another meeting\'s credential alike, counts each, and logs the reason at debug only', async () => {
      const { authenticator, identity, guard, credentials, meetings, capture } = await setUp(['MD5']);
      await meetings.create({ id: 'elsewhere' });
      const elsewhere = await credentials.create({ meetingId: 'elsewhere' });
      const outcomes = [];
      for (const who of [{ username: 'unoneatall00', password: 'x' }, { ...identity, password: 'wrong' }, elsewhere]) {
        const [challenge] = await challenges(authenticator);
        outcomes.push(await authenticator.authenticate(answer(who, challenge!), MEETING_ID));
      }
      expect(outcomes).toEqual(Array.from({ length: 3 }, () => ({ ok: false, status: 403, reason: 'Wrong Credentials' })));
      expect(guard.counters().authFailures).toBe(3);
      const reasons = capture.lines().filter((line) => line.msg === 'SIP authentication failed').map((line) => [line.level, line.reason]);
      expect(reasons).toEqual([[20, 'unknown-user'], [20, 'wrong-password'], [20, 'other-meeting']]);
      expect(capture.text()).not.toContain(elsewhere.password);
    });

    it('uses up the nonce of a wrong answer: the right password on it gets a fresh challenge', async () => {
      const { authenticator, identity } = await setUp(['MD5']);
      const [challenge] = await challenges(authenticator);
      expect(await authenticator.authenticate(answer({ ...identity, password: 'wrong' }, challenge!), MEETING_ID)).toMatchObject({ status: 403 });
      const retried = await authenticator.authenticate(answer(identity, challenge!), MEETING_ID);
      expect(retried).toMatchObject({ ok: false, status: 401, reason: 'Unknown Nonce' });
      expect(retried.ok === false && retried.status === 401 && retried.challenge[0]).not.toContain(challenge!.nonce);
    });
  });
});
