/**
 * SDES (RFC 4568) in the offer/answer per SIP_SRTP: which a=crypto line we answer, with
 * which profile and key, and when a plain offer or answer is refused.
 */
import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { answerOffer } from '../../../src/media/sdp/answer-offer.js';
import { acceptAnswer, createOffer } from '../../../src/media/sdp/late-offer.js';
import { SdpError } from '../../../src/media/sdp/sdp-error.js';

const LOCAL = { ip: '203.0.113.7', port: 40000 };
const HEAD = 'v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n';
const PHONE_KEY = Buffer.alloc(30, 7);
const INLINE = `inline:${PHONE_KEY.toString('base64')}`;
const offer = (profile: string, ...crypto: string[]) => `${HEAD}m=audio 5004 ${profile} 0\r\n${crypto.map((line) => `${line}\r\n`).join('')}`;

function answered(sdp: string) {
  const [audio] = sdpTransform.parse(sdp).media;
  return { protocol: audio?.protocol, crypto: audio?.crypto ?? [] };
}

function refusal(run: () => unknown): SdpError {
  try {
    run();
  } catch (err) {
    if (err instanceof SdpError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('answering a=crypto', () => {
  it.each(['RTP/SAVP', 'RTP/AVP'])('answers an offer on %s with SRTP: its tag and suite, our own new key', (profile) => {
    const first = answerOffer(offer(profile, `a=crypto:3 AES_CM_128_HMAC_SHA1_80 ${INLINE}`), { ...LOCAL, srtp: 'optional' });
    const second = answerOffer(offer(profile, `a=crypto:3 AES_CM_128_HMAC_SHA1_80 ${INLINE}`), { ...LOCAL, srtp: 'optional' });
    const { protocol, crypto } = answered(first.sdp);
    expect(protocol).toBe(profile);
    expect(crypto).toHaveLength(1);
    expect(crypto[0]).toMatchObject({ id: 3, suite: 'AES_CM_128_HMAC_SHA1_80' });
    const ourKey = Buffer.from(crypto[0]!.config.replace('inline:', ''), 'base64');
    expect(ourKey).toHaveLength(30);
    expect(first.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(Buffer.from(first.srtp!.localKey)).toEqual(ourKey);
    expect(Buffer.from(first.srtp!.remoteKey)).toEqual(PHONE_KEY);
    expect(Buffer.from(second.srtp!.localKey)).not.toEqual(ourKey);
  });

  it('takes the first line it can use: no unknown suite, key of the wrong length, MKI or session parameter', () => {
    const answer = answerOffer(
      offer(
        'RTP/SAVP',
        `a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${Buffer.alloc(46).toString('base64')}`,
        `a=crypto:6 AEAD_AES_256_GCM ${INLINE}`,
        `a=crypto:2 AES_CM_128_HMAC_SHA1_80 ${INLINE}|2^31|1:4`,
        `a=crypto:3 AES_CM_128_HMAC_SHA1_80 ${INLINE} UNENCRYPTED_SRTP`,
        `a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:c2hvcnQ=`,
        `a=crypto:5 AES_CM_128_HMAC_SHA1_32 ${INLINE}|2^20`,
      ),
      { ...LOCAL, srtp: 'optional' },
    );
    expect(answered(answer.sdp).crypto).toMatchObject([{ id: 5, suite: 'AES_CM_128_HMAC_SHA1_32' }]);
    expect(answer.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_32');
  });

  it('answers an AEAD suite with a key of its length', () => {
    const gcmKey = Buffer.alloc(44, 3).toString('base64');
    const answer = answerOffer(offer('RTP/SAVP', `a=crypto:2 AEAD_AES_256_GCM inline:${gcmKey}`), { ...LOCAL, srtp: 'optional' });
    const [line] = answered(answer.sdp).crypto;
    expect(line).toMatchObject({ id: 2, suite: 'AEAD_AES_256_GCM' });
    expect(Buffer.from(line!.config.replace('inline:', ''), 'base64')).toHaveLength(44);
  });

  it('keeps our key when the call gives it back (a re-INVITE)', () => {
    const srtpKey = Buffer.alloc(30, 9);
    const answer = answerOffer(offer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${INLINE}`), { ...LOCAL, srtp: 'optional', srtpKey });
    expect(answered(answer.sdp).crypto[0]?.config).toBe(`inline:${srtpKey.toString('base64')}`);
  });

  it('answers a plain offer with plain RTP when SRTP is optional', () => {
    const answer = answerOffer(offer('RTP/AVP'), { ...LOCAL, srtp: 'optional' });
    expect(answered(answer.sdp)).toEqual({ protocol: 'RTP/AVP', crypto: [] });
    expect(answer.srtp).toBeUndefined();
  });

  it('ignores a=crypto when SRTP is off, and refuses RTP/SAVP', () => {
    const answer = answerOffer(offer('RTP/AVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${INLINE}`), { ...LOCAL, srtp: 'off' });
    expect(answered(answer.sdp)).toEqual({ protocol: 'RTP/AVP', crypto: [] });
    const error = refusal(() => answerOffer(offer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${INLINE}`), { ...LOCAL, srtp: 'off' }));
    expect(error.problem).toBe('unsupported-transport');
  });

  it('refuses a plain offer with 488 and a 302 Warning when SRTP is required', () => {
    const error = refusal(() => answerOffer(offer('RTP/AVP'), { ...LOCAL, srtp: 'required' }));
    expect(error).toMatchObject({ problem: 'srtp-required', sipStatus: 488 });
    expect(error.warning('gw.example.com')).toBe(
      '302 gw.example.com "Incompatible transport protocol: SRTP required (a=crypto with one of AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32)"',
    );
  });
});

describe('offering a=crypto (late offer)', () => {
  const phoneAnswer = (profile: string, ...crypto: string[]) =>
    `v=0\r\no=- 2 1 IN IP4 192.168.1.50\r\ns=-\r\nc=IN IP4 192.168.1.50\r\nt=0 0\r\nm=audio 7078 ${profile} 0\r\n${crypto.map((l) => `${l}\r\n`).join('')}`;

  const offeredCrypto = (sdp: string) =>
    sdpTransform.parse(sdp).media[0]!.crypto?.map((c) => [c.id, c.suite, Buffer.from(c.config.replace('inline:', ''), 'base64').length]);

  it('offers AES_CM_128_HMAC_SHA1_80 alone on RTP/AVP when optional, and follows the phone: SRTP with an a=crypto answer, plain RTP without', () => {
    const ours = createOffer({ ...LOCAL, srtp: 'optional' });
    const media = sdpTransform.parse(ours.sdp).media[0]!;
    expect(media.protocol).toBe('RTP/AVP');
    expect(offeredCrypto(ours.sdp)).toEqual([[1, 'AES_CM_128_HMAC_SHA1_80', 30]]);
    const negotiated = acceptAnswer(ours, phoneAnswer('RTP/AVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${INLINE}`));
    expect(negotiated.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(Buffer.from(negotiated.srtp!.remoteKey)).toEqual(PHONE_KEY);
    expect(Buffer.from(negotiated.srtp!.localKey)).toEqual(Buffer.from(media.crypto![0]!.config.replace('inline:', ''), 'base64'));
    expect(acceptAnswer(ours, phoneAnswer('RTP/AVP')).srtp).toBeUndefined();
  });

  it('offers every suite on RTP/SAVP when required, each with its own key, and follows the one the phone answers', () => {
    const ours = createOffer({ ...LOCAL, srtp: 'required' });
    expect(offeredCrypto(ours.sdp)).toEqual([
      [1, 'AEAD_AES_256_GCM', 44],
      [2, 'AEAD_AES_128_GCM', 28],
      [3, 'AES_CM_128_HMAC_SHA1_80', 30],
      [4, 'AES_CM_128_HMAC_SHA1_32', 30],
    ]);
    const negotiated = acceptAnswer(ours, phoneAnswer('RTP/SAVP', `a=crypto:4 AES_CM_128_HMAC_SHA1_32 ${INLINE}`));
    expect(negotiated.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_32');
    expect(Buffer.from(negotiated.srtp!.remoteKey)).toEqual(PHONE_KEY);
  });

  it('offers RTP/SAVP when required, and refuses an answer without a=crypto or with one we did not offer', () => {
    const ours = createOffer({ ...LOCAL, srtp: 'required' });
    expect(sdpTransform.parse(ours.sdp).media[0]?.protocol).toBe('RTP/SAVP');
    expect(refusal(() => acceptAnswer(ours, phoneAnswer('RTP/SAVP')))).toMatchObject({ problem: 'srtp-required', sipStatus: 488 });
    expect(refusal(() => acceptAnswer(ours, phoneAnswer('RTP/SAVP', `a=crypto:7 AES_CM_128_HMAC_SHA1_80 ${INLINE}`))).problem).toBe('answer-mismatch');
  });

  it('offers no a=crypto when SRTP is off', () => {
    expect(sdpTransform.parse(createOffer({ ...LOCAL, srtp: 'off' }).sdp).media[0]?.crypto).toBeUndefined();
  });
});
