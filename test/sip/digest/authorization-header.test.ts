import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { MalformedAuthorizationError, parseAuthorization } from '../../../src/sip/digest/authorization-header.js';
import { digestReply } from './digest-client.js';
import { seededRandom } from './seeded-random.js';

const MD5_HEX = '8ca523f5e9506fed4657c9700eebdbec';

describe('parseAuthorization', () => {
  it('reads the RFC 7616 §3.9.1 SHA-256 credentials as sent, folded over several lines', () => {
    const header = [
      'Digest username="Mufasa",',
      '    realm="http-auth@example.org",',
      '    uri="/dir/index.html",',
      '    algorithm=SHA-256,',
      '    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",',
      '    nc=00000001,',
      '    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",',
      '    qop=auth,',
      '    response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",',
      '    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    ].join('\r\n');
    expect(parseAuthorization(header)).toEqual({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      uri: '/dir/index.html',
      algorithm: 'SHA-256',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      qop: 'auth',
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
  });

  it.each(['baresip', 'compact'] as const)('reads a %s-layout reply', (layout) => {
    const header = digestReply({
      layout,
      username: 'alice',
      password: 'secret',
      realm: 'sip.example.com',
      nonce: 'abc',
      method: 'INVITE',
      uri: 'sip:1234567890@sip.example.com',
      algorithm: 'MD5',
      nc: 1,
      cnonce: '0123456789abcdef',
    });
    expect(parseAuthorization(header)).toMatchObject({
      username: 'alice',
      realm: 'sip.example.com',
      uri: 'sip:1234567890@sip.example.com',
      algorithm: 'MD5',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0123456789abcdef',
    });
  });

  it.each([
    [
      'escaped quotes and commas inside quoted strings',
      `Digest username="al\\"ice, jr", realm="a,b", nonce="n", uri="sip:x@y", response="${MD5_HEX}"`,
      { username: 'al"ice, jr', realm: 'a,b' },
    ],
    [
      'parameter names in any case and a lowercase scheme',
      `digest USERNAME="alice", Realm="r", NONCE="n", Uri="sip:x@y", RESPONSE="${MD5_HEX}", QOP=auth`,
      { username: 'alice', realm: 'r', qop: 'auth' },
    ],
    [
      'whitespace around = and , (and tabs)',
      `Digest  username =\t"alice" ,realm= "r",\tnonce="n" , uri="sip:x@y",response="${MD5_HEX}"  `,
      { username: 'alice', realm: 'r', nonce: 'n' },
    ],
    [
      'values quoted that the grammar says are tokens, and tokens that should be quoted',
      `Digest username=alice, realm=r, nonce=n, uri="sip:x@y", response=${MD5_HEX}, qop="auth", algorithm="MD5"`,
      { username: 'alice', qop: 'auth', algorithm: 'MD5' },
    ],
    [
      'empty list elements and a trailing comma',
      `Digest username="alice",, realm="r", nonce="n", uri="sip:x@y", response="${MD5_HEX}",`,
      { username: 'alice' },
    ],
    [
      'an uppercase response, stored lowercase',
      `Digest username="alice", realm="r", nonce="n", uri="sip:x@y", response="${MD5_HEX.toUpperCase()}"`,
      { response: MD5_HEX },
    ],
    [
      "RFC 7616 username* (UTF-8'', percent-encoded)",
      `Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="r", nonce="n", uri="sip:x@y", response="${MD5_HEX}"`,
      { username: 'Jäsøn Doe' },
    ],
    [
      'unknown parameters, ignored',
      `Digest username="alice", realm="r", nonce="n", uri="sip:x@y", response="${MD5_HEX}", x-vendor="1, 2"`,
      { username: 'alice' },
    ],
  ])('accepts %s', (_name, header, expected) => {
    expect(parseAuthorization(header)).toMatchObject(expected);
  });

  const ok = `realm="r", nonce="n", uri="sip:x@y", response="${MD5_HEX}"`;
  it.each([
    ['not a Digest credential', ''],
    ['not a Digest credential', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'],
    ['no parameters after Digest', 'Digest'],
    ['no parameters after Digest', 'Digest,username="a"'],
    ['missing username', `Digest ${ok}`],
    ['missing response', `Digest username="alice", realm="r", nonce="n", uri="sip:x@y"`],
    ['missing realm', `Digest username="alice", nonce="n", uri="sip:x@y", response="${MD5_HEX}"`],
    ['missing nonce', `Digest username="alice", realm="r", uri="sip:x@y", response="${MD5_HEX}"`],
    ['missing uri', `Digest username="alice", realm="r", nonce="n", response="${MD5_HEX}"`],
    ['expected "," after username', `Digest username="alice ${ok}`],
    ['unterminated quoted string in realm', `Digest username="alice", realm="r`],
    ['unterminated quoted string in username', `Digest username="alice\\`],
    ['expected "," after username', `Digest username="alice" realm="r"`],
    ['expected "=" after username', `Digest username "alice", ${ok}`],
    ['username has no value', `Digest username=, ${ok}`],
    ['expected a parameter name at offset 7', `Digest ="alice", ${ok}`],
    ['a parameter name is longer than 32 characters', `Digest ${'x'.repeat(40)}=1, ${ok}`],
    ['username appears twice', `Digest username="a", username="b", ${ok}`],
    ['username appears twice', `Digest USERNAME="a", username="b", ${ok}`],
    ['both username and username*', `Digest username="a", username*=UTF-8''b, ${ok}`],
    ["username* is not UTF-8''<percent-encoded>", `Digest username*=ISO-8859-1''b, ${ok}`],
    ['username* is not valid percent-encoded UTF-8', `Digest username*=UTF-8''%C3, ${ok}`],
    ['username is empty', `Digest username="", ${ok}`],
    ['userhash was not offered', `Digest username="alice", userhash=true, ${ok}`],
    ['response is not 32 or 64 hex digits', `Digest username="alice", realm="r", nonce="n", uri="sip:x@y", response="xyz"`],
    ['response is not 32 or 64 hex digits', `Digest username="alice", realm="r", nonce="n", uri="sip:x@y", response="${MD5_HEX}0"`],
    ['nc is not 8 hex digits from 00000001', `Digest username="alice", nc=1, ${ok}`],
    ['nc is not 8 hex digits from 00000001', `Digest username="alice", nc=00000000, ${ok}`],
    ['nc is not 8 hex digits from 00000001', `Digest username="alice", nc=0000000g, ${ok}`],
    ['control character in username', `Digest username="al\u0000ice", ${ok}`],
    ['control character in username', `Digest username="al\r\nX-Injected: 1", ${ok}`],
    ['longer than 4096 characters', `Digest username="alice", ${ok}, opaque="${'o'.repeat(4096)}"`],
  ])('rejects a header with reason: %s', (reason, header) => {
    const error = catchError(() => parseAuthorization(header));
    expect(error).toBeInstanceOf(MalformedAuthorizationError);
    expect(error).toMatchObject({ reason, sipStatus: 400, code: 'bad_request' });
    expect((error as Error).message).toBe(`malformed Authorization header: ${reason}`);
  });

  it('never echoes a value in its reason', () => {
    const error = catchError(() => parseAuthorization(`Digest username="alice", realm="r", nonce="n", uri="sip:x@y", response="s3cret-ish"`));
    expect((error as Error).message).not.toContain('s3cret-ish');
  });

  it('throws only MalformedAuthorizationError on hundreds of mutated headers', () => {
    const base = digestReply({
      layout: 'baresip',
      username: 'alice',
      password: 'secret',
      realm: 'sip.example.com',
      nonce: 'abc',
      method: 'INVITE',
      uri: 'sip:1@sip.example.com',
      algorithm: 'SHA-256',
      nc: 7,
      cnonce: 'c',
    });
    const random = seededRandom(7616);
    const alphabet = '"\\,= \t\r\nDigestabc%\'*0123456789\u0000\u00ff\u{1F600}';
    for (let i = 0; i < 500; i++) {
      const chars = [...base];
      for (let edits = 1 + Math.floor(random() * 4); edits > 0; edits--) {
        const at = Math.floor(random() * chars.length);
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
        else chars.length = at;
      }
      try {
        parseAuthorization(chars.join(''));
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayError);
        expect((error as GatewayError).sipStatus).toBe(400);
      }
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
