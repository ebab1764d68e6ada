import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { type MediaAnswer, answerOffer, prepareAnswer } from '../../../src/media/sdp/answer-offer.js';
import type { CodecName } from '../../../src/media/sdp/codecs.js';
import type { LocalMedia } from '../../../src/media/sdp/negotiated-media.js';
import { BARESIP, LINPHONE_VIDEO, TWILIO, ZOIPER } from './softphone-offers.js';

const LOCAL: LocalMedia = { ip: '203.0.113.7', port: 40000 };

/** Changes an offer line by line: replace lines matching `from` (or append when absent). */
function edit(offer: string, ...edits: [from: RegExp, to: string | null][]): string {
  let lines = offer.trimEnd().split('\r\n');
  for (const [from, to] of edits) {
    const found = lines.some((line) => from.test(line));
    lines = found ? lines.flatMap((line) => (from.test(line) ? (to === null ? [] : [to]) : [line])) : [...lines, ...(to === null ? [] : [to])];
  }
  return `${lines.join('\r\n')}\r\n`;
}

function audioOf(answer: MediaAnswer) {
  const parsed = sdpTransform.parse(answer.sdp);
  return { parsed, audio: parsed.media.find((m) => m.type === 'audio' && m.port !== 0) };
}

describe('answerOffer', () => {
  it.each<[string, string, readonly CodecName[] | undefined, Partial<MediaAnswer>, string[]]>([
    [
      'baresip, default preference: PCMU although opus is first in the offer',
      BARESIP,
      undefined,
      {
        codec: { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} },
        telephoneEvent: { payloadType: 101, clockRate: 8000 },
        remote: { ip: '192.168.1.20', port: 10256, rtcpMux: false, rtcpPort: 10257 },
        direction: 'sendrecv',
        remoteDirection: 'sendrecv',
        ptime: 20,
      },
      ['m=audio 40000 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv'],
    ],
    [
      'baresip, opus preferred: its payload type, receive fmtp kept, sprop dropped',
      BARESIP,
      ['opus', 'PCMU'],
      { codec: { name: 'opus', payloadType: 96, clockRate: 48000, sampleRate: 48000, channels: 2, parameters: { stereo: 1 } } },
      ['m=audio 40000 RTP/AVP 96', 'a=rtpmap:96 opus/48000/2', 'a=fmtp:96 stereo=1'],
    ],
    [
      'baresip, G722 preferred: 16 kHz audio on an 8000 RTP clock',
      BARESIP,
      ['G722', 'PCMU'],
      {
        codec: { name: 'G722', payloadType: 9, clockRate: 8000, sampleRate: 16000, channels: 1, parameters: {} },
        telephoneEvent: { payloadType: 101, clockRate: 8000 },
      },
      ['m=audio 40000 RTP/AVP 9 101', 'a=rtpmap:9 G722/8000'],
    ],
    [
      'Zoiper: static payload types without rtpmap, rtcp-mux accepted',
      ZOIPER,
      undefined,
      {
        codec: { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} },
        telephoneEvent: { payloadType: 101, clockRate: 8000 },
        remote: { ip: '10.0.0.5', port: 52936, rtcpMux: true },
      },
      ['m=audio 40000 RTP/AVP 0 101', 'a=rtcp-mux', 'a=fmtp:101 0-16'],
    ],
    [
      'Zoiper, opus preferred: FEC and DTX parameters carried over',
      ZOIPER,
      ['opus'],
      {
        codec: {
          name: 'opus',
          payloadType: 106,
          clockRate: 48000,
          sampleRate: 48000,
          channels: 2,
          parameters: { minptime: 20, useinbandfec: 1, usedtx: 1 },
        },
      },
      ['m=audio 40000 RTP/AVP 106', 'a=fmtp:106 minptime=20;useinbandfec=1;usedtx=1'],
    ],
    [
      'Twilio: PCMU and DTMF',
      TWILIO,
      undefined,
      {
        codec: { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} },
        telephoneEvent: { payloadType: 101, clockRate: 8000 },
        remote: { ip: '54.172.60.3', port: 16534, rtcpMux: false, rtcpPort: 16535 },
        ptime: 20,
      },
      ['m=audio 40000 RTP/AVP 0 101'],
    ],
    [
      'Twilio with a PCMA-only preference',
      TWILIO,
      ['PCMA'],
      { codec: { name: 'PCMA', payloadType: 8, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} } },
      ['m=audio 40000 RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000'],
    ],
    [
      'Linphone with video: audio answered, video rejected in place, DTMF at 8000 picked from three rates',
      LINPHONE_VIDEO,
      undefined,
      {
        codec: { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000, channels: 1, parameters: {} },
        telephoneEvent: { payloadType: 100, clockRate: 8000 },
      },
      ['m=audio 40000 RTP/AVP 0 100', 'm=video 0 RTP/AVP 102 103'],
    ],
    [
      'Linphone with video, opus preferred: DTMF at 48000',
      LINPHONE_VIDEO,
      ['opus'],
      {
        codec: { name: 'opus', payloadType: 96, clockRate: 48000, sampleRate: 48000, channels: 2, parameters: { useinbandfec: 1 } },
        telephoneEvent: { payloadType: 101, clockRate: 48000 },
      },
      ['m=audio 40000 RTP/AVP 96 101', 'a=rtpmap:101 telephone-event/48000', 'm=video 0 RTP/AVP 102 103'],
    ],
  ])('%s', (_name, offer, preference, expected, lines) => {
    const answer = answerOffer(offer, { ...LOCAL, ...(preference && { preference }) });
    expect(answer).toMatchObject(expected);
    for (const line of lines) expect(answer.sdp.split('\r\n')).toContain(line);
  });

  it('leaves DTMF out when it is not offered at the chosen codec\'s clock rate (baresip has none at 48000)', () => {
    const answer = answerOffer(BARESIP, { ...LOCAL, preference: ['opus'] });
    expect(answer.telephoneEvent).toBeUndefined();
    expect(answer.sdp).not.toContain('telephone-event');
  });

  it('writes a complete answer: our address at session level, no stray codecs', () => {
    const answer = answerOffer(TWILIO, LOCAL);
    expect(answer.sdp).toBe(
      [
        'v=0',
        `o=- ${answer.origin.sessionId} 1 IN IP4 203.0.113.7`,
        's=-',
        'c=IN IP4 203.0.113.7',
        't=0 0',
        'm=audio 40000 RTP/AVP 0 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
    expect(answer.origin.sessionId).toMatch(/^\d+$/);
  });

  it.each<[string, string, readonly CodecName[], CodecName, number]>([
    ['our order, not the offerer\'s: PCMA listed first still gives PCMU', 'm=audio 5004 RTP/AVP 8 0', ['PCMU', 'PCMA'], 'PCMU', 0],
    ['a configured order wins', 'm=audio 5004 RTP/AVP 0 8', ['PCMA', 'PCMU'], 'PCMA', 8],
    ['codecs not in our preference are never chosen', 'm=audio 5004 RTP/AVP 0 9', ['G722'], 'G722', 9],
    ['a dynamic payload type carrying PCMU', 'm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 pcmu/8000', ['PCMU'], 'PCMU', 97],
    ['opus written without /2', 'm=audio 5004 RTP/AVP 120\r\na=rtpmap:120 opus/48000', ['opus'], 'opus', 120],
  ])('follows the preference rule: %s', (_name, media, preference, name, payloadType) => {
    const offer = `v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n${media}\r\n`;
    expect(answerOffer(offer, { ...LOCAL, preference }).codec).toMatchObject({ name, payloadType });
  });

  it.each([
    ['echoes ptime 30', [/^a=ptime/, 'a=ptime:30'], 30],
    ['answers 20 when no ptime is offered', [/^a=ptime/, null], 20],
    ['answers 20 for an absurd ptime', [/^a=ptime/, 'a=ptime:5000'], 20],
    ['answers 20 for a fractional ptime', [/^a=ptime/, 'a=ptime:2.5'], 20],
  ] as const)('%s', (_name, change, ptime) => {
    const answer = answerOffer(edit(TWILIO, [change[0], change[1]]), LOCAL);
    expect(answer.ptime).toBe(ptime);
    expect(answer.sdp).toContain(`a=ptime:${ptime}\r\n`);
  });

  it('skips an audio line without a codec of ours and answers the next, rejecting the first in place', () => {
    const offer = edit(TWILIO, [/^m=audio/, 'm=audio 16000 RTP/AVP 18\r\nm=audio 16534 RTP/AVP 0 8 101']);
    const answer = answerOffer(offer, LOCAL);
    const media = sdpTransform.parse(answer.sdp).media;
    expect(media.map((m) => [m.type, m.port])).toEqual([
      ['audio', 0],
      ['audio', 40000],
    ]);
    expect(answer.remote.port).toBe(16534);
  });

  it('answers only the first usable audio line, rejecting a second one', () => {
    const offer = `${TWILIO}m=audio 16600 RTP/AVP 0\r\n`;
    const media = sdpTransform.parse(answerOffer(offer, LOCAL).sdp).media;
    expect(media.map((m) => m.port)).toEqual([40000, 0]);
  });

  it('prefers a media-level c= to the session one and reads a=rtcp', () => {
    const offer = edit(TWILIO, [/^a=ptime/, 'c=IN IP4 198.51.100.9\r\na=rtcp:16999']);
    expect(answerOffer(offer, LOCAL).remote).toEqual({ ip: '198.51.100.9', port: 16534, rtcpMux: false, rtcpPort: 16999 });
  });

  it('answers an IPv6 offer from an IPv6 address', () => {
    const offer = edit(TWILIO, [/^c=/, 'c=IN IP6 2001:db8::7']);
    const answer = answerOffer(offer, { ip: '2001:db8::1', port: 40000 });
    expect(answer.remote.ip).toBe('2001:db8::7');
    expect(answer.sdp).toContain('c=IN IP6 2001:db8::1\r\n');
  });

  it('does not mux RTCP when our transport has its own RTCP port, and says where it is', () => {
    const answer = answerOffer(ZOIPER, { ...LOCAL, rtcpPort: 40001 });
    expect(answer.remote).toEqual({ ip: '10.0.0.5', port: 52936, rtcpMux: false, rtcpPort: 52937 });
    const { audio } = audioOf(answer);
    expect(audio?.rtcpMux).toBeUndefined();
    expect(audio?.rtcp).toEqual({ port: 40001 });
  });

  describe('hold and resume (re-INVITE offers)', () => {
    it.each<[string, [RegExp, string | null][], string, string, string]>([
      ['hold: a=sendonly', [[/^a=sendrecv/, 'a=sendonly']], 'recvonly', 'sendonly', '54.172.60.3'],
      ['hold both ways: a=inactive', [[/^a=sendrecv/, 'a=inactive']], 'inactive', 'inactive', '54.172.60.3'],
      ['the phone only listens: a=recvonly', [[/^a=sendrecv/, 'a=recvonly']], 'sendonly', 'recvonly', '54.172.60.3'],
      ['resume: a=sendrecv', [], 'sendrecv', 'sendrecv', '54.172.60.3'],
      ['no direction attribute means sendrecv', [[/^a=sendrecv/, null]], 'sendrecv', 'sendrecv', '54.172.60.3'],
      ['a session-level a=sendonly', [[/^a=sendrecv/, null], [/^t=0 0/, 't=0 0\r\na=sendonly']], 'recvonly', 'sendonly', '54.172.60.3'],
      ['RFC 2543 hold: c=0.0.0.0', [[/^c=/, 'c=IN IP4 0.0.0.0']], 'recvonly', 'sendonly', '0.0.0.0'],
      ['RFC 2543 hold with a=recvonly', [[/^c=/, 'c=IN IP4 0.0.0.0'], [/^a=sendrecv/, 'a=recvonly']], 'inactive', 'inactive', '0.0.0.0'],
    ])('%s', (_name, edits, direction, remoteDirection, ip) => {
      const answer = answerOffer(edit(TWILIO, ...edits), LOCAL);
      expect(answer).toMatchObject({ direction, remoteDirection, remote: { ip } });
      expect(answer.sdp).toContain(`a=${direction}\r\n`);
    });

    it('keeps the session id and takes the version it is given, so the phone sees a modified session', () => {
      const first = answerOffer(TWILIO, LOCAL);
      const hold = answerOffer(edit(TWILIO, [/^a=sendrecv/, 'a=sendonly']), {
        ...LOCAL,
        origin: { sessionId: first.origin.sessionId, sessionVersion: first.origin.sessionVersion + 1 },
      });
      expect(hold.sdp).toContain(`o=- ${first.origin.sessionId} 2 IN IP4 203.0.113.7\r\n`);
      expect(hold.codec).toEqual(first.codec);
    });
  });

  it.each([
    ['baresip', BARESIP],
    ['twilio', TWILIO],
    ['linphone with video', LINPHONE_VIDEO],
    ['zoiper', ZOIPER],
  ])('an offer prepared before the port is known (%s) is answered as answerOffer answers it', (_name, offer) => {
    const prepared = prepareAnswer(offer, { ip: LOCAL.ip });
    const { answer: _write, ...negotiated } = prepared;
    const answer = prepared.answer(LOCAL.port);
    expect(answer).toEqual(answerOffer(offer, { ...LOCAL, origin: prepared.origin }));
    expect(answer).toEqual({ ...negotiated, sdp: answer.sdp });
    // Read back: sdp-transform's parser understands what the writer wrote.
    expect(sdpTransform.write(sdpTransform.parse(answer.sdp))).toBe(answer.sdp);
  });
});
