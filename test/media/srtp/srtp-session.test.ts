/**
 * SRTP/SRTCP against RFC 3711 Appendix B's known answers (B.2 AES-CM keystream, B.3 key
 * derivation), then protect/unprotect round trips: rollover, replay and tampering.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LABELS, deriveKey } from '../../../src/media/srtp/key-derivation.js';
import { SrtpSession, crypt } from '../../../src/media/srtp/srtp-session.js';
import type { SrtpSuite } from '../../../src/media/srtp/srtp-suites.js';

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
    const keys = { encryption: hex('2B7E151628AED2A6ABF7158809CF4F3C'), salt: hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), authentication: Buffer.alloc(20) };
    const keystream = crypt(keys, 0, 0, Buffer.alloc(16 * 0xff02));
    const block = (counter: number) => keystream.subarray(counter * 16, counter * 16 + 16);
    expect(block(0x0000)).toEqual(hex('E03EAD0935C95E80E166B16DD92B4EB4'));
    expect(block(0x0001)).toEqual(hex('D23513162B02D0F72A43A2FE4A5F97AB'));
    expect(block(0x0002)).toEqual(hex('41E95B3BB0A2E8DD477901E4FCA894C0'));
    expect(block(0xfeff)).toEqual(hex('EC8CDF7398607CB0F2D21675EA9EA1E4'));
    expect(block(0xff00)).toEqual(hex('362B7C3C6773516318A077D7FC5073AE'));
    expect(block(0xff01)).toEqual(hex('6A2CC3787889374FBEB4C81B17BA6C44'));
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
  const phoneKey = randomBytes(30);
  const gatewayKey = randomBytes(30);
  return {
    phone: new SrtpSession({ suite, localKey: phoneKey, remoteKey: gatewayKey }),
    gateway: new SrtpSession({ suite, localKey: gatewayKey, remoteKey: phoneKey }),
  };
}

describe('SrtpSession', () => {
  it.each([
    ['AES_CM_128_HMAC_SHA1_80', 10],
    ['AES_CM_128_HMAC_SHA1_32', 4],
  ] as const)('round-trips RTP with %s, the payload encrypted and a %i-byte tag added', (suite, tagLength) => {
    const { phone, gateway } = pair(suite);
    const packet = rtp(7);
    const onTheWire = phone.protectRtp(packet)!;
    expect(onTheWire.length).toBe(packet.length + tagLength);
    expect(onTheWire.subarray(0, 12)).toEqual(packet.subarray(0, 12));
    expect(onTheWire.subarray(12, packet.length)).not.toEqual(packet.subarray(12));
    expect(gateway.unprotectRtp(onTheWire)).toEqual(packet);
  });

  it('drops a packet whose payload or tag was changed, and a replayed one', () => {
    const { phone, gateway } = pair();
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

  it('follows the rollover counter past sequence number 65535 both ways', () => {
    const { phone, gateway } = pair();
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

  it('round-trips SRTCP with the E flag and index, dropping tampered and replayed reports', () => {
    const { phone, gateway } = pair();
    const report = hex('81C90007 AABBCCDD 11223344 00000000 00000000 00000000 00000000 00000000');
    const first = gateway.protectRtcp(report)!;
    expect(first.readUInt32BE(report.length)).toBe(0x80000000);
    expect(first.subarray(8, report.length)).not.toEqual(report.subarray(8));
    expect(phone.unprotectRtcp(first)).toEqual(report);
    expect(phone.unprotectRtcp(first)).toBeUndefined();
    const second = gateway.protectRtcp(report)!;
    expect(second.readUInt32BE(report.length)).toBe(0x80000001);
    const tampered = Buffer.from(second);
    tampered[12]! ^= 1;
    expect(phone.unprotectRtcp(tampered)).toBeUndefined();
    expect(phone.unprotectRtcp(second)).toEqual(report);
  });
});
