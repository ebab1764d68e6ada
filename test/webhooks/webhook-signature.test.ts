import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../../src/webhooks/webhook-signature.js';

const secret = 'whsec-0123456789abcdef';
const body = '{"id":"3f0c","type":"meeting.ended","timestamp":"2026-12-06T22:00:00.000Z","data":{"meetingId":"m-1"}}';
const at = 1_796_594_400;

describe('webhook signatures', () => {
  it('is the hex HMAC-SHA256 of "<t>.<body>" under the secret, after t=', () => {
    // From `printf '%s' "1796594400.$body" | openssl dgst -sha256 -hmac "$secret"`: the scheme as a receiver in another language computes it.
    expect(signatureHeader(secret, at, body)).toBe(`t=${at},v1=3d928533e7b431e731a4a9601a6d8b098f3b02d153735c37b8c12889de21b788`);
  });

  it('verifies a signature of this body and secret within the tolerance', () => {
    const header = signatureHeader(secret, at, body);
    expect(verifySignature(secret, header, body, { nowSeconds: at })).toBe(true);
    expect(verifySignature(secret, header, body, { nowSeconds: at + 300 })).toBe(true);
    expect(verifySignature(secret, header, body, { nowSeconds: at - 300 })).toBe(true);
  });

  it('refuses another body, another secret, a stale or future timestamp, and a missing or malformed header', () => {
    const header = signatureHeader(secret, at, body);
    expect(verifySignature(secret, header, body.replace('m-1', 'm-2'), { nowSeconds: at })).toBe(false);
    expect(verifySignature('whsec-another-secret-0000', header, body, { nowSeconds: at })).toBe(false);
    expect(verifySignature(secret, header, body, { nowSeconds: at + 301 })).toBe(false);
    expect(verifySignature(secret, header, body, { nowSeconds: at - 301 })).toBe(false);
    expect(verifySignature(secret, header, body, { nowSeconds: at + 3600, toleranceSeconds: 3600 })).toBe(true);
    // The timestamp is signed too: moving it breaks the signature.
    expect(verifySignature(secret, header.replace(`t=${at}`, `t=${at + 1}`), body, { nowSeconds: at })).toBe(false);
    for (const bad of [undefined, '', `v1=${header.split('v1=')[1]}`, `t=${at}`, `t=soon,v1=${header.split('v1=')[1]}`, 'garbage']) {
      expect(verifySignature(secret, bad, body, { nowSeconds: at })).toBe(false);
    }
  });

  it('accepts a header with several v1 values when one matches (a receiver rotating secrets)', () => {
    const valid = signatureHeader(secret, at, body).split('v1=')[1];
    expect(verifySignature(secret, `t=${at},v1=${'0'.repeat(64)},v1=${valid}`, body, { nowSeconds: at })).toBe(true);
    expect(verifySignature(secret, `t=${at},v1=${'0'.repeat(64)}`, body, { nowSeconds: at })).toBe(false);
  });
});
