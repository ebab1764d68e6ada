/**
 * SRTP/SRTCP against RFC 3711 Appendix B's known answers (B.2 AES-CM keystream, B.3 key
 * derivation) and RFC 7714's (AES-GCM SRTP §16.1.1, SRTCP §17.2), then protect/unprotect
 * round trips for every suite: rollover, replay and tampering.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LABELS, counterIv, deriveKey } from '../../../src/media/srtp/key-derivation.js';
import { SrtpSession, gcmCipher } from '../../../src/media/srtp/srtp-session.js';
import { SRTP_SUITES, type SrtpSuite, masterKeyLength } from '../../../src/media/srtp/srtp-suites.js';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('RFC 3711 Appendix B known answers', () => {
  it('derives B.3 session keys from the master key and salt', () => {
    const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');
    expect(deriveKey(masterKey, masterSalt, LABELS.rtpEncryption, 16)).toEqual(hex('C61E7A93744F39EE10734AFE3FF7A087'));
    expect(deriveKey(masterKey, masterSalt, LABELS.rtpSalt, 14)).toEqual(hex('30CBBC08863D8C85D49DB34A9AE1'));
    expect(deriveKey(masterKey, masterSalt, LABELS.rtpAuthentication, 94)).toEqual(
      hex(`CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098
           6371C10C9A369AC2F94A8C5FBCDDDC25 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2`),
    );
  });

  it('produces the B.2 AES-CM keystream for SSRC 0 and index 0', () => {
    const iv = counterIv(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
    const keystream = createCipheriv('aes-128-ctr', hex('2B7E151628AED2A6ABF7158809CF4F3C'), iv).update(Buffer.alloc(16 * 0xff02));
    const block = (counter: number) => keystream.subarray(counter * 16, counter * 16 + 16);
    expect(block(0x0000)).toEqual(hex('E03EAD0935C95E80E166B16DD92B4EB4'));
    expect(block(0x0001)).toEqual(hex('D23513162B02D0F72A43A2FE4A5F97AB'));
    expect(block(0x0002)).toEqual(hex('41E95B3BB0A2E8DD477901E4FCA894C0'));
    expect(block(0xfeff)).toEqual(hex('EC8CDF7398607CB0F2D21675EA9EA1E4'));
    expect(block(0xff00)).toEqual(hex('362B7C3C6773516318A077D7FC5073AE'));
    expect(block(0xff01)).toEqual(hex('6A2CC3787889374FBEB4C81B17BA6C44'));
  });
});

describe('RFC 7714 known answers (session key and salt given)', () => {
  const salt = hex('517569642070726f2071756f');

  it('seals and opens the §16.1.1 AEAD_AES_128_GCM SRTP packet', () => {
    const keys = { encryption: hex('000102030405060708090a0b0c0d0e0f'), salt, authentication: Buffer.alloc(0) };
    const header = hex('8040f17b 8041f8d3 5501a0b2');
    const payload = hex('47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573');
    const expected = hex(`f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833
                          899d7f27 beb16a91 52cf765e e4390cce`);
    const { ciphertext, tag } = gcmCipher.sealRtp(keys, header, payload, 0x5501a0b2, 0, 0xf17b);
    expect(Buffer.concat([ciphertext, tag])).toEqual(expected);
    expect(gcmCipher.openRtp(keys, header, ciphertext, tag, 0x5501a0b2, 0, 0xf17b)).toEqual(payload);
    const forged = Buffer.from(tag);
    forged[0]! ^= 1;
    expect(gcmCipher.openRtp(keys, header, ciphertext, forged, 0x5501a0b2, 0, 0xf17b)).toBeUndefined();
  });

  it('seals the §17.2 AEAD_AES_256_GCM SRTCP packet (tag before the E flag and index)', () => {
    const keys = { encryption: hex('000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f'), salt, authentication: Buffer.alloc(0) };
    const header = hex('81c8000d 4d617273');
    const body = hex('4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef');
    const trailer = hex('800005d4');
    const { ciphertext, tag } = gcmCipher.sealRtcp(keys, header, body, trailer, 0x4d617273, 0x5d4);
    expect(Buffer.concat([header, ciphertext, tag, trailer])).toEqual(
      hex(`81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be 8415f658 c61de047
           6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4`),
    );
  });
});

function rtp(seq: number, ssrc = 0x11223344, payload = Buffer.alloc(160, seq & 0xff)): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header.writeUInt16BE(seq, 2);
  header.writeUInt32BE(seq * 160, 4);
  header.writeUInt32BE(ssrc, 8);
  return Buffer.concat([header, payload]);
}

/** A phone's session and ours, each keyed with the other's key. */
function pair(suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80') {
  const phoneKey = randomBytes(masterKeyLength(suite));
  const gatewayKey = randomBytes(masterKeyLength(suite));
  return {
    phone: new SrtpSession({ suite, localKey: phoneKey, remoteKey: gatewayKey }),
    gateway: new SrtpSession({ suite, localKey: gatewayKey, remoteKey: phoneKey }),
  };
}

describe('SrtpSession', () => {
  const suites = Object.keys(SRTP_SUITES) as SrtpSuite[];

  it.each(suites.map((suite) => [suite, SRTP_SUITES[suite].rtpTagLength] as const))('round-trips RTP with %s, the payload encrypted and a %i-byte tag added', (suite, tagLength) => {
    const { phone, gateway } = pair(suite);
    const packet = rtp(7);
    const onTheWire = phone.protectRtp(packet)!;
    expect(onTheWire.length).toBe(packet.length + tagLength);
    expect(onTheWire.subarray(0, 12)).toEqual(packet.subarray(0, 12));
    expect(onTheWire.subarray(12, packet.length)).not.toEqual(packet.subarray(12));
    expect(gateway.unprotectRtp(onTheWire)).toEqual(packet);
  });

  it.each(suites)('drops a packet whose payload or tag was changed, and a replayed one (%s)', (suite) => {
    const { phone, gateway } = pair(suite);
    const first = phone.protectRtp(rtp(1))!;
    const tampered = Buffer.from(first);
    tampered[20]! ^= 1;
    expect(gateway.unprotectRtp(tampered)).toBeUndefined();
    const badTag = Buffer.from(first);
    badTag[badTag.length - 1]! ^= 1;
    expect(gateway.unprotectRtp(badTag)).toBeUndefined();
    expect(gateway.unprotectRtp(first)).toBeDefined();
    expect(gateway.unprotectRtp(first)).toBeUndefined();
  });

  it('takes reordered packets inside the replay window and refuses those behind it', () => {
    const { phone, gateway } = pair();
    const sent = Array.from({ length: 100 }, (_, i) => phone.protectRtp(rtp(1000 + i))!);
    expect(gateway.unprotectRtp(sent[99]!)).toBeDefined();
    expect(gateway.unprotectRtp(sent[50]!)).toBeDefined();
    expect(gateway.unprotectRtp(sent[10]!)).toBeUndefined();
  });

  it.each(suites)('follows the rollover counter past sequence number 65535 both ways (%s)', (suite) => {
    const { phone, gateway } = pair(suite);
    for (let i = 0; i < 10; i++) {
      const seq = (65530 + i) & 0xffff;
      expect(gateway.unprotectRtp(phone.protectRtp(rtp(seq))!)).toEqual(rtp(seq));
    }
  });

  it('keeps CSRCs and the header extension in the clear and encrypts what follows', () => {
    const { phone, gateway } = pair();
    const packet = rtp(3);
    packet[0] = 0x90;
    const withExtension = Buffer.concat([packet.subarray(0, 12), hex('BEDE0001 10FF0000'), packet.subarray(12)]);
    const onTheWire = phone.protectRtp(withExtension)!;
    expect(onTheWire.subarray(0, 20)).toEqual(withExtension.subarray(0, 20));
    expect(gateway.unprotectRtp(onTheWire)).toEqual(withExtension);
  });

  it.each(suites)('round-trips SRTCP with the E flag and index, dropping tampered and replayed reports (%s)', (suite) => {
    const { phone, gateway } = pair(suite);
    const report = hex('81C90007 AABBCCDD 11223344 00000000 00000000 00000000 00000000 00000000');
    const first = gateway.protectRtcp(report)!;
    // The index word ends the packet under GCM and precedes the HMAC tag otherwise.
    const indexAt = (packet: Buffer) => (SRTP_SUITES[suite].mode === 'gcm' ? packet.length - 4 : report.length);
    expect(first.readUInt32BE(indexAt(first))).toBe(0x80000000);
    expect(first.subarray(8, report.length)).not.toEqual(report.subarray(8));
    expect(phone.unprotectRtcp(first)).toEqual(report);
    expect(phone.unprotectRtcp(first)).toBeUndefined();
    const second = gateway.protectRtcp(report)!;
    expect(second.readUInt32BE(indexAt(second))).toBe(0x80000001);
    const tampered = Buffer.from(second);
    tampered[12]! ^= 1;
    expect(phone.unprotectRtcp(tampered)).toBeUndefined();
    expect(phone.unprotectRtcp(second)).toEqual(report);
  });

  it('keeps our rollover counter when only the phone\'s key changes, and starts again for a new key of ours', () => {
    const { phone, gateway } = pair();
    for (const seq of [65534, 65535, 0, 1]) expect(phone.unprotectRtp(gateway.protectRtp(rtp(seq))!)).toBeDefined();
    const newPhoneKey = randomBytes(30);
    const rekeyed = gateway.rekeyed({ ...gateway.keys, remoteKey: newPhoneKey });
    expect(gateway.rekeyed(gateway.keys)).toBe(gateway);
    // The phone still counts our packets in rollover 1: sent under rollover 0, this would not authenticate.
    expect(phone.unprotectRtp(rekeyed.protectRtp(rtp(2))!)).toEqual(rtp(2));
    const phoneWithNewKey = new SrtpSession({ ...phone.keys, localKey: newPhoneKey });
    expect(rekeyed.unprotectRtp(phoneWithNewKey.protectRtp(rtp(9))!)).toEqual(rtp(9));
  });
});
