import { describe, expect, it } from 'vitest';
import { HandOffTokens, TOKEN_TTL_MS } from '../../src/sip/hand-off-token.js';

const SECRET = 'a-cluster-secret-of-some-length';
const invite = { callId: 'c1@test', fromTag: 'abc' };
const handOff = { fromNode: 'node-b', meetingId: 'team-sync', caller: { username: 'u2k3' } };

describe('hand-off tokens', () => {
  it('prove the hand-off of this very INVITE to a node holding the secret', () => {
    const tokens = new HandOffTokens(SECRET);
    const check = tokens.check(tokens.issue(invite, handOff), invite);
    expect(check.kind).toBe('valid');
    if (check.kind !== 'valid') return;
    expect(check.handOff).toMatchObject({ fromNode: 'node-b', meetingId: 'team-sync', caller: { username: 'u2k3' } });
    const trunk = tokens.check(tokens.issue(invite, { ...handOff, caller: { trunk: 'carrier' } }), invite);
    expect(trunk.kind === 'valid' && trunk.handOff.caller).toEqual({ trunk: 'carrier' });
  });

  it('are forgeries for another Call-ID or From tag, another secret, a changed payload or garbage', () => {
    const tokens = new HandOffTokens(SECRET);
    const token = tokens.issue(invite, handOff);
    expect(tokens.check(token, { ...invite, callId: 'c2@test' }).kind).toBe('forged');
    expect(tokens.check(token, { ...invite, fromTag: 'abd' }).kind).toBe('forged');
    expect(new HandOffTokens('another-secret-entirely').check(token, invite).kind).toBe('forged');
    const [, mac] = token.split('.');
    const otherMeeting = Buffer.from(JSON.stringify({ v: 1, node: 'node-b', at: Date.now(), meeting: 'other', user: 'u2k3' })).toString('base64url');
    expect(tokens.check(`${otherMeeting}.${mac}`, invite).kind).toBe('forged');
    for (const garbage of ['', 'x', `${token}, ${token}`, `${token}.`, token.replace('.', '')]) expect(tokens.check(garbage, invite).kind).toBe('forged');
  });

  it('expire after a few seconds', () => {
    let now = 1_000_000;
    const tokens = new HandOffTokens(SECRET, () => now);
    const token = tokens.issue(invite, handOff);
    now += TOKEN_TTL_MS;
    expect(tokens.check(token, invite).kind).toBe('valid');
    now += 1;
    expect(tokens.check(token, invite)).toEqual({ kind: 'forged', reason: 'hand-off token expired' });
  });

  it('need a secret of at least 16 bytes', () => {
    expect(() => new HandOffTokens('short')).toThrow(RangeError);
  });

  it('say none when the INVITE carries no header', () => {
    expect(new HandOffTokens(SECRET).check(undefined, invite)).toEqual({ kind: 'none' });
  });
});
