/**
 * The SRTP key derivation function (RFC 3711 §4.3.1) with a key derivation rate of 0,
 * which is what SDES without a KDR parameter means: each session key is the AES-CM
 * keystream of the master key, with the label XORed into the master salt as the IV.
 */
import { createCipheriv } from 'node:crypto';
import { MASTER_KEY_LENGTH, MASTER_SALT_LENGTH } from './srtp-suites.js';

export const LABELS = {
  rtpEncryption: 0x00,
  rtpAuthentication: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuthentication: 0x04,
  rtcpSalt: 0x05,
} as const;

export interface SessionKeys {
  readonly encryption: Buffer;
  /** The HMAC-SHA1 key, 160 bits. */
  readonly authentication: Buffer;
  readonly salt: Buffer;
}

export function deriveKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(masterSalt).copy(iv, 0, 0, MASTER_SALT_LENGTH);
  // key_id = label || r (r = 0, 48 bits) is XORed into the salt's low 56 bits.
  iv[7]! ^= label;
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** The RTP (rtcp false) or RTCP session keys of a master key||salt. */
export function sessionKeys(masterKeySalt: Uint8Array, rtcp: boolean): SessionKeys {
  const key = masterKeySalt.subarray(0, MASTER_KEY_LENGTH);
  const salt = masterKeySalt.subarray(MASTER_KEY_LENGTH, MASTER_KEY_LENGTH + MASTER_SALT_LENGTH);
  const labels = rtcp
    ? [LABELS.rtcpEncryption, LABELS.rtcpAuthentication, LABELS.rtcpSalt]
    : [LABELS.rtpEncryption, LABELS.rtpAuthentication, LABELS.rtpSalt];
  return {
    encryption: deriveKey(key, salt, labels[0]!, MASTER_KEY_LENGTH),
    authentication: deriveKey(key, salt, labels[1]!, 20),
    salt: deriveKey(key, salt, labels[2]!, MASTER_SALT_LENGTH),
  };
}

/**
 * The AES-CM IV (RFC 3711 §4.1.1): the session salt, shifted left 16 bits, XOR the SSRC
 * at bits 64-95 and the packet index (48 bits) at bits 16-63.
 */
export function counterIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, MASTER_SALT_LENGTH);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  // 48-bit index: 16 high bits, then 32 low bits.
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ Math.floor(index / 2 ** 32), 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index % 2 ** 32) >>> 0, 10);
  return iv;
}
