import { describe, expect, it } from 'vitest';
import { encodeNetstring, NetstringDecoder } from '../support/phone/netstring.js';

describe('netstrings (baresip ctrl_tcp framing)', () => {
  it('encodes the byte length, not the character count', () => {
    expect(encodeNetstring('{"a":"é"}').toString('utf8')).toBe('10:{"a":"é"},');
  });

  it('decodes messages split and joined anywhere', () => {
    const stream = Buffer.concat([encodeNetstring('{"event":true}'), encodeNetstring(''), encodeNetstring('{"x":"é"}')]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new NetstringDecoder();
      expect([...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))]).toEqual(['{"event":true}', '', '{"x":"é"}']);
    }
  });

  it('rejects a broken stream', () => {
    expect(() => new NetstringDecoder().push(Buffer.from('x:abc,'))).toThrow('length prefix');
    expect(() => new NetstringDecoder().push(Buffer.from('3:abcd'))).toThrow('comma');
  });
});
