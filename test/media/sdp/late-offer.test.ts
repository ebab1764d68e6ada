import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { answerOffer } from '../../../src/media/sdp/answer-offer.js';
import { acceptAnswer, createOffer } from '../../../src/media/sdp/late-offer.js';
import { SdpError } from '../../../src/media/sdp/sdp-error.js';

const GATEWAY = { ip: '203.0.113.7', port: 40000 };

/** A phone's answer to our default offer, with the m= line and attributes given. */
const phoneAnswer = (...media: string[]) =>
  ['v=0', 'o=- 42 42 IN IP4 192.168.1.50', 's=-', 'c=IN IP4 192.168.1.50', 't=0 0', ...media, ''].join('\r\n');

describe('createOffer', () => {
  it('offers every codec in our preference order, DTMF at each clock rate, rtcp-mux', () => {
    const offer = createOffer(GATEWAY);
    const audio = sdpTransform.parse(offer.sdp).media[0];
    expect(audio).toMatchObject({ type: 'audio', port: 40000, protocol: 'RTP/AVP', payloads: '0 8 9 111 101 110', direction: 'sendrecv' });
    expect(audio?.rtp).toEqual([
      { payload: 0, codec: 'PCMU', rate: 8000 },
      { payload: 8, codec: 'PCMA', rate: 8000 },
      { payload: 9, codec: 'G722', rate: 8000 },
      { payload: 111, codec: 'opus', rate: 48000, encoding: 2 },
      { payload: 101, codec: 'telephone-event', rate: 8000 },
      { payload: 110, codec: 'telephone-event', rate: 48000 },
    ]);
    expect(audio?.fmtp).toEqual([
      { payload: 111, config: 'minptime=10;useinbandfec=1' },
      { payload: 101, config: '0-16' },
      { payload: 110, config: '0-16' },
    ]);
    expect(audio).toMatchObject({ ptime: 20, rtcpMux: 'rtcp-mux' });
    expect(offer.sdp).toContain('c=IN IP4 203.0.113.7\r\n');
  });

  it.each([
    ['G.711 only: no opus, no DTMF at 48000', ['PCMA', 'PCMU'], '8 0 101'],
    ['opus only', ['opus'], '111 110'],
    ['a name listed twice is offered once', ['PCMU', 'PCMU', 'G722'], '0 9 101'],
  ] as const)('follows a configured preference: %s', (_name, preference, payloads) => {
    expect(sdpTransform.parse(createOffer({ ...GATEWAY, preference }).sdp).media[0]?.payloads).toBe(payloads);
  });

  it('announces a separate RTCP port instead of rtcp-mux when the transport has one', () => {
    const audio = sdpTransform.parse(createOffer({ ...GATEWAY, rtcpPort: 40001 }).sdp).media[0];
    expect(audio?.rtcp).toEqual({ port: 40001 });
    expect(audio?.rtcpMux).toBeUndefined();
  });

  it('refuses an empty preference rather than write an offer without formats', () => {
    expect(() => createOffer({ ...GATEWAY, preference: [] })).toThrow(RangeError);
  });
});

describe('acceptAnswer', () => {
  it('round trip: our offer in the 200 OK, the phone (answering as our own answerer does) in the ACK', () => {
    const offer = createOffer(GATEWAY);
    const phone = answerOffer(offer.sdp, { ip: '192.168.1.50', port: 7078, preference: ['G722', 'PCMU'] });
    const media = acceptAnswer(offer, phone.sdp);
    expect(media).toEqual({
      codec: { name: 'G722', payloadType: 9, clockRate: 8000, sampleRate: 16000, channels: 1, parameters: {} },
      telephoneEvent: { payloadType: 101, clockRate: 8000 },
      remote: { ip: '192.168.1.50', port: 7078, rtcpMux: true },
      direction: 'sendrecv',
      remoteDirection: 'sendrecv',
      ptime: 20,
    });
    expect(phone.codec).toEqual(media.codec);
  });

  it.each([
    [
      'a G.711 phone answering PCMA with DTMF, without rtcp-mux',
      phoneAnswer('m=audio 7078 RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:30'),
      {
        codec: { name: 'PCMA', payloadType: 8 },
        telephoneEvent: { payloadType: 101, clockRate: 8000 },
        remote: { ip: '192.168.1.50', port: 7078, rtcpMux: false, rtcpPort: 7079 },
        ptime: 30,
      },
    ],
    [
      'an answer listing several of our codecs: its first one is used',
      phoneAnswer('m=audio 7078 RTP/AVP 9 0', 'a=rtcp-mux'),
      { codec: { name: 'G722', payloadType: 9 }, remote: { rtcpMux: true } },
    ],
    [
      'an opus answer with its receive parameters',
      phoneAnswer(
        'm=audio 7078 RTP/AVP 111 110',
        'a=rtpmap:111 opus/48000/2',
        'a=fmtp:111 useinbandfec=1;maxaveragebitrate=24000',
        'a=rtpmap:110 telephone-event/48000',
      ),
      {
        codec: { name: 'opus', payloadType: 111, parameters: { useinbandfec: 1, maxaveragebitrate: 24000 } },
        telephoneEvent: { payloadType: 110, clockRate: 48000 },
      },
    ],
    [
      'an answer putting the call on hold straight away',
      phoneAnswer('m=audio 7078 RTP/AVP 0', 'a=sendonly'),
      { direction: 'recvonly', remoteDirection: 'sendonly' },
    ],
  ])('accepts %s', (_name, answer, expected) => {
    expect(acceptAnswer(createOffer(GATEWAY), answer)).toMatchObject(expected);
  });

  it.each([
    ['no-common-codec', 488, 'a codec we did not offer', phoneAnswer('m=audio 7078 RTP/AVP 18', 'a=rtpmap:18 G729/8000')],
    ['no-common-codec', 488, 'our opus renumbered', phoneAnswer('m=audio 7078 RTP/AVP 96', 'a=rtpmap:96 opus/48000/2')],
    ['no-audio', 488, 'the audio stream rejected (port 0)', phoneAnswer('m=audio 0 RTP/AVP 0')],
    ['answer-mismatch', 400, 'more m= lines than offered', phoneAnswer('m=audio 7078 RTP/AVP 0', 'm=video 0 RTP/AVP 31')],
    ['answer-mismatch', 400, 'a video m= line', phoneAnswer('m=video 7078 RTP/AVP 31')],
    ['answer-mismatch', 400, 'another transport', phoneAnswer('m=audio 7078 RTP/SAVP 0')],
    ['no-connection', 400, 'no c= line', phoneAnswer('m=audio 7078 RTP/AVP 0').replace('c=IN IP4 192.168.1.50\r\n', '')],
    ['not-sdp', 400, 'not SDP', 'SIP/2.0 200 OK'],
  ])('refuses with %s (%i): %s', (problem, status, _name, answer) => {
    const offer = createOffer(GATEWAY);
    expect(() => acceptAnswer(offer, answer)).toThrow(SdpError);
    expect(() => acceptAnswer(offer, answer)).toThrow(expect.objectContaining({ problem, sipStatus: status }));
  });

  it('names what we offered in the 488 warning', () => {
    const offer = createOffer({ ...GATEWAY, preference: ['PCMU', 'opus'] });
    try {
      acceptAnswer(offer, phoneAnswer('m=audio 7078 RTP/AVP 18'));
      expect.unreachable();
    } catch (error) {
      expect((error as SdpError).warning('gw.example.com')).toBe('305 gw.example.com "Incompatible media format: we offered PCMU, opus"');
    }
  });
});
