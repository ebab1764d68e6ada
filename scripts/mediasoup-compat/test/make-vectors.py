"""Prints vectors.h: SRTP and SRTCP packets computed from the RFCs (3711 for AES-CM,
HMAC-SHA1 and the key derivation, 6188 for AES-256 keys, 7714 for AES-GCM) with Python's
cryptography AES primitives, independently of libsrtp, so the layer's test checks that
its packets interoperate (key and salt order, tag lengths, SRTCP index), not only that
they round-trip. The AES_CM_128_HMAC_SHA1_80 RTP packet equals libsrtp's own test vector.

Run: python3 make-vectors.py > vectors.h   (needs python3-cryptography; the C test does not)
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_128 = bytes.fromhex('e1f97a0d3e018be0d64fa32c06de4139')
MASTER_KEY_256 = bytes.fromhex('e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6ab12')
MASTER_SALT = bytes.fromhex('0ec675ad498afeebb6960b3aabe6')  # GCM uses its first 12 bytes
RTP = bytes.fromhex('800f1234decafbadcafebabe') + b'\xab' * 16  # SSRC 0xcafebabe, seq 0x1234
RTCP = bytes.fromhex('80c80006cafebabe') + bytes(range(1, 21))  # a sender report
SRTCP_INDEX = 1  # libsrtp numbers a session's SRTCP packets from 1


def aes_ctr(key, iv, data):
    return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(data)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def kdf(master_key, master_salt, label, length):
    """RFC 3711 4.3 with a key derivation rate of 0; GCM's 12-byte salt is zero-padded."""
    x = bytearray(master_salt.ljust(14, b'\0'))
    x[7] ^= label
    return aes_ctr(master_key, bytes(x) + b'\0\0', bytes(length))


def srtp_aes_cm(master_key, master_salt, packet, tag_len, roc=0):
    enc = kdf(master_key, master_salt, 0, len(master_key))
    auth = kdf(master_key, master_salt, 1, 20)
    salt = kdf(master_key, master_salt, 2, 14)
    iv = xor(salt + b'\0\0', b'\0' * 4 + packet[8:12] + struct.pack('>IH', roc, int.from_bytes(packet[2:4], 'big')) + b'\0\0')
    out = packet[:12] + aes_ctr(enc, iv, packet[12:])
    return out + hmac.new(auth, out + struct.pack('>I', roc), hashlib.sha1).digest()[:tag_len]


def srtcp_aes_cm(master_key, master_salt, packet, index):
    """The SRTCP tag is 80 bits under both AES-CM profiles."""
    enc = kdf(master_key, master_salt, 3, len(master_key))
    auth = kdf(master_key, master_salt, 4, 20)
    salt = kdf(master_key, master_salt, 5, 14)
    iv = xor(salt + b'\0\0', b'\0' * 4 + packet[4:8] + b'\0\0' + struct.pack('>I', index) + b'\0\0')
    out = packet[:8] + aes_ctr(enc, iv, packet[8:]) + struct.pack('>I', 0x80000000 | index)
    return out + hmac.new(auth, out, hashlib.sha1).digest()[:10]


def srtp_aes_gcm(master_key, master_salt, packet, roc=0):
    enc = kdf(master_key, master_salt, 0, len(master_key))
    salt = kdf(master_key, master_salt, 2, 12)
    iv = xor(salt, b'\0\0' + packet[8:12] + struct.pack('>I', roc) + packet[2:4])
    return packet[:12] + AESGCM(enc).encrypt(iv, packet[12:], packet[:12])


def srtcp_aes_gcm(master_key, master_salt, packet, index):
    enc = kdf(master_key, master_salt, 3, len(master_key))
    salt = kdf(master_key, master_salt, 5, 12)
    trailer = struct.pack('>I', 0x80000000 | index)
    iv = xor(salt, b'\0\0' + packet[4:8] + b'\0\0' + struct.pack('>I', index))
    return packet[:8] + AESGCM(enc).encrypt(iv, packet[8:], packet[:8] + trailer) + trailer


def c_array(name, data):
    rows = [', '.join('0x%02x' % b for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    return 'static const uint8_t %s[%d] = {\n%s\n};' % (name, len(data), '\n'.join('    %s,' % r for r in rows))


GCM_SALT = MASTER_SALT[:12]
print('/* Printed by make-vectors.py: do not edit. */')
for name, data in [
    ('master_key_128', MASTER_KEY_128),
    ('master_key_256', MASTER_KEY_256),
    ('master_salt', MASTER_SALT),
    ('rtp_plain', RTP),
    ('rtcp_plain', RTCP),
    ('cm80_rtp', srtp_aes_cm(MASTER_KEY_128, MASTER_SALT, RTP, 10)),
    ('cm32_rtp', srtp_aes_cm(MASTER_KEY_128, MASTER_SALT, RTP, 4)),
    ('cm_rtcp', srtcp_aes_cm(MASTER_KEY_128, MASTER_SALT, RTCP, SRTCP_INDEX)),
    ('gcm128_rtp', srtp_aes_gcm(MASTER_KEY_128, GCM_SALT, RTP)),
    ('gcm128_rtcp', srtcp_aes_gcm(MASTER_KEY_128, GCM_SALT, RTCP, SRTCP_INDEX)),
    ('gcm256_rtp', srtp_aes_gcm(MASTER_KEY_256, GCM_SALT, RTP)),
    ('gcm256_rtcp', srtcp_aes_gcm(MASTER_KEY_256, GCM_SALT, RTCP, SRTCP_INDEX)),
]:
    print(c_array(name, data))
