/**
 * The SRTP key derivation function (RFC 3711 §4.3.1) with a key derivation rate of 0,
 * which is what SDES without a KDR parameter means: each session key is the AES-CM
 * keystream of the master key, with the label XORed into the master salt as the IV. The
 * AES-GCM suites use it as it is, their 96-bit master salt padded with zeros (RFC 7714 §11).
 */
import { createCipheriv } from 'node:crypto';
import { SRTP_SUITES, type SrtpSuite } from './srtp-suites.js';

export const LABELS = {
  rtpEncryption: 0x00,
  rtpAuthentication: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuthentication: 0x04,
  rtcpSalt: 0x05,
} as const;

/** Counter-mode salts are 14 bytes; GCM's 12. */
const KDF_SALT_LENGTH = 14;

export interface SessionKeys {
  readonly encryption: Buffer;
  /** The HMAC-SHA1 key, 160 bits; empty for GCM, which authenticates with its encryption key. */
  readonly authentication: Buffer;
  readonly salt: Buffer;
}

export function deriveKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(masterSalt).copy(iv, 0, 0, KDF_SALT_LENGTH);
  // key_id = label || r (r = 0, 48 bits) is XORed into the salt's low 56 bits.
  iv[7]! ^= label;
  const cipher = createCipheriv(masterKey.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr', masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** The RTP (rtcp false) or RTCP session keys of a suite's master key||salt. */
export function sessionKeys(suite: SrtpSuite, masterKeySalt: Uint8Array, rtcp: boolean): SessionKeys {
  const { keyLength, saltLength, mode } = SRTP_SUITES[suite];
  const key = masterKeySalt.subarray(0, keyLength);
  const salt = masterKeySalt.subarray(keyLength, keyLength + saltLength);
  const labels = rtcp
    ? [LABELS.rtcpEncryption, LABELS.rtcpAuthentication, LABELS.rtcpSalt]
    : [LABELS.rtpEncryption, LABELS.rtpAuthentication, LABELS.rtpSalt];
  return {
    encryption: deriveKey(key, salt, labels[0]!, keyLength),
    authentication: mode === 'cm' ? deriveKey(key, salt, labels[1]!, 20) : Buffer.alloc(0),
    salt: deriveKey(key, salt, labels[2]!, saltLength),
  };
}

/**
 * The AES-CM IV (RFC 3711 §4.1.1): the session salt, shifted left 16 bits, XOR the SSRC
 * at bits 64-95 and the packet index (48 bits) at bits 16-63.
 */
export function counterIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, KDF_SALT_LENGTH);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  // 48-bit index: 16 high bits, then 32 low bits.
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ Math.floor(index / 2 ** 32), 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index % 2 ** 32) >>> 0, 10);
  return iv;
}

/**
 * The AES-GCM IV (RFC 7714 §8.1, §9.1), 12 bytes XOR the session salt: SRTP puts the
 * SSRC at bytes 2-5 and the 48-bit index (ROC, SEQ) at 6-11; SRTCP its 31-bit index at 8-11.
 */
export function gcmIv(salt: Buffer, ssrc: number, index: number, rtcp: boolean): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc >>> 0, 2);
  if (rtcp) iv.writeUInt32BE(index >>> 0, 8);
  else {
    iv.writeUInt16BE(Math.floor(index / 2 ** 32), 6);
    iv.writeUInt32BE(index % 2 ** 32, 8);
  }
  for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
  return iv;
}
