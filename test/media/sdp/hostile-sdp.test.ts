import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { answerOffer } from '../../../src/media/sdp/answer-offer.js';
import { acceptAnswer, createOffer } from '../../../src/media/sdp/late-offer.js';
import { SdpError, type SdpProblem } from '../../../src/media/sdp/sdp-error.js';
import { MAX_MEDIA_LINES, MAX_SDP_BYTES, readSdp } from '../../../src/media/sdp/sdp-reader.js';
import { seededRandom } from '../../sip/digest/seeded-random.js';
import { SOFTPHONE_OFFERS, TWILIO } from './softphone-offers.js';

const LOCAL = { ip: '203.0.113.7', port: 40000 };
const HEAD = 'v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n';
const AUDIO = 'm=audio 5004 RTP/AVP 0\r\n';

function rejection(offer: unknown): SdpError {
  try {
    answerOffer(offer as string, LOCAL);
  } catch (error) {
    expect(error).toBeInstanceOf(SdpError);
    return error as SdpError;
  }
  throw new Error('the offer was accepted');
}

describe('offers we refuse', () => {
  it.each<[SdpProblem, number, string, unknown, RegExp]>([
    ['not-sdp', 400, 'an empty body', '', /no v=0 line/],
    ['not-sdp', 400, 'prose', 'hello, this is not SDP', /no v=0 line/],
    ['not-sdp', 400, 'a body that is not text', Buffer.from(TWILIO), /not SDP text/],
    ['not-sdp', 400, 'v=1', HEAD.replace('v=0', 'v=1') + AUDIO, /no v=0 line/],
    ['too-large', 400, `more than ${MAX_SDP_BYTES} bytes`, HEAD + AUDIO + `a=x-pad:${'x'.repeat(MAX_SDP_BYTES)}\r\n`, /larger than 16384 bytes/],
    ['too-large', 400, 'a size limit counted in bytes, not characters', HEAD + AUDIO + `s=${'é'.repeat(MAX_SDP_BYTES / 2)}\r\n`, /larger/],
    ['control-characters', 400, 'a NUL byte', HEAD + AUDIO.replace('RTP/AVP', 'RTP/AVP\u0000'), /control characters/],
    ['control-characters', 400, 'an escape sequence', `${HEAD}s=\u001b[2J\r\n${AUDIO}`, /control characters/],
    ['no-media', 400, 'no m= line', HEAD, /no m= line/],
    ['too-many-media', 400, `more than ${MAX_MEDIA_LINES} m= lines`, HEAD + AUDIO.repeat(MAX_MEDIA_LINES + 1), /more than 16 m= lines/],
    ['bad-port', 400, 'port above 65535', `${HEAD}m=audio 70000 RTP/AVP 0\r\n`, /m= line 1 has port 70000; expected 0 to 65535/],
    ['bad-port', 400, 'a port too long for a number', `${HEAD}m=audio 99999999999999999999999 RTP/AVP 0\r\n`, /has port 999999999999; expected/],
    ['bad-port', 400, 'an a=rtcp port above 65535', `${HEAD}${AUDIO}a=rtcp:65536\r\n`, /a=rtcp port outside 1 to 65535/],
    ['bad-port', 400, 'an a=rtcp port 0', `${HEAD}${AUDIO}a=rtcp:0\r\n`, /a=rtcp port/],
    ['bad-media-line', 400, 'a negative port', `${HEAD}m=audio -1 RTP/AVP 0\r\n`, /m= line 1 is not "m=<media> <port> <proto> <fmt> \.\.\."/],
    ['bad-media-line', 400, 'a port range (m=audio 5004/2)', `${HEAD}m=audio 5004/2 RTP/AVP 0\r\n`, /is not "m=/],
    ['bad-media-line', 400, 'no formats', `${HEAD}m=audio 5004 RTP/AVP\r\n`, /m= line 1 lists no formats/],
    ['bad-media-line', 400, 'a broken second m= line', `${HEAD}${AUDIO}m=video\r\n`, /m= line 2 is not/],
    ['bad-payload-type', 400, 'payload type 300', `${HEAD}m=audio 5004 RTP/AVP 0 300\r\n`, /not a payload type from 0 to 127/],
    ['bad-payload-type', 400, 'a format that is not a number', `${HEAD}m=audio 5004 RTP/AVP PCMU\r\n`, /not a payload type/],
    ['no-connection', 400, 'no c= anywhere', HEAD.replace('c=IN IP4 198.51.100.1\r\n', '') + AUDIO, /no c= line/],
    ['bad-connection', 400, 'a host name', HEAD.replace('198.51.100.1\r\nt', 'pbx.example.com\r\nt') + AUDIO, /c= must be/],
    ['bad-connection', 400, 'an IPv6 address marked IP4', HEAD.replace('IP4 198.51.100.1\r\nt', 'IP4 2001:db8::1\r\nt') + AUDIO, /c= must be/],
    ['bad-connection', 400, 'a multicast address with TTL', HEAD.replace('198.51.100.1\r\nt', '224.2.1.1/127\r\nt') + AUDIO, /c= must be/],
    ['bad-connection', 400, 'an invalid IPv4 address', HEAD.replace('198.51.100.1\r\nt', '999.1.1.1\r\nt') + AUDIO, /c= must be/],
    ['no-audio', 488, 'video only', `${HEAD}m=video 5006 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n`, /^Media type not available/],
    ['no-audio', 488, 'audio disabled (port 0)', `${HEAD}m=audio 0 RTP/AVP 0\r\nm=video 5006 RTP/AVP 96\r\n`, /^Media type not available/],
    ['no-audio', 488, 'an application stream only', `${HEAD}m=application 5008 UDP/BFCP *\r\n`, /^Media type not available/],
    ['unsupported-transport', 488, 'SRTP only', `${HEAD}m=audio 5004 RTP/SAVP 0\r\n`, /^Incompatible transport protocol: we support RTP\/AVP only/],
    ['unsupported-transport', 488, 'WebRTC', `${HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n`, /^Incompatible transport protocol/],
    ['no-common-codec', 488, 'G.729 only', `${HEAD}m=audio 5004 RTP/AVP 18\r\n`, /^Incompatible media format: we support PCMU, PCMA, G722, opus$/],
    ['no-common-codec', 488, 'PCMU at a wrong clock rate', `${HEAD}m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 PCMU/16000\r\n`, /^Incompatible/],
    ['no-common-codec', 488, 'opus with one channel', `${HEAD}m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/1\r\n`, /^Incompatible media format/],
    ['no-common-codec', 488, 'an unknown dynamic payload type without rtpmap', `${HEAD}m=audio 5004 RTP/AVP 96\r\n`, /^Incompatible media format/],
    ['no-common-codec', 488, 'only DTMF', `${HEAD}m=audio 5004 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n`, /^Incompatible media format/],
  ])('%s (%i): %s', (problem, status, _name, offer, message) => {
    const error = rejection(offer);
    expect(error).toMatchObject({ problem, sipStatus: status });
    expect(error.message).toMatch(message);
  });

  it('gives a 488 the Warning header value of RFC 3261 §20.43, and a 400 none', () => {
    expect(rejection(`${HEAD}m=audio 5004 RTP/AVP 18\r\n`).warning('sip.example.com')).toBe(
      '305 sip.example.com "Incompatible media format: we support PCMU, PCMA, G722, opus"',
    );
    expect(rejection(`${HEAD}m=video 5006 RTP/AVP 96\r\n`).warning('sip.example.com')).toBe(
      '304 sip.example.com "Media type not available: we need an audio stream"',
    );
    expect(rejection(`${HEAD}m=audio 5004 RTP/SAVP 0\r\n`).warning('sip.example.com')).toBe(
      '302 sip.example.com "Incompatible transport protocol: we support RTP/AVP only"',
    );
    expect(rejection('').warning('sip.example.com')).toBeUndefined();
  });

  it('lists the configured codecs in the warning', () => {
    try {
      answerOffer(`${HEAD}m=audio 5004 RTP/AVP 0\r\n`, { ...LOCAL, preference: ['G722', 'opus'] });
      expect.unreachable();
    } catch (error) {
      expect((error as SdpError).warning('gw')).toBe('305 gw "Incompatible media format: we support G722, opus"');
    }
  });
});

describe('mutated and garbage SDP', () => {
  const corpus = Object.values(SOFTPHONE_OFFERS);
  const junk = [
    ...['', ' ', '=', '/', '\t', 'é', '\u{1F600}', '-1', '65536', '99999999999999999999', '0.0.0.0', '::', 'IP6'],
    ...['m=', 'c=IN IP4', 'a=rtpmap:', 'a=rtcp:', 'a=fmtp:96 ;;==', 'm=audio 0 RTP/AVP 0', 'a=sendonly'],
  ];

  /** A few random edits of a real offer: deleted, duplicated, swapped, truncated or spliced lines and characters. */
  function mutate(random: () => number): string {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const lines = pick(corpus).split('\r\n');
    for (let edits = 1 + Math.floor(random() * 5); edits > 0; edits--) {
      const at = Math.floor(random() * lines.length);
      const line = lines[at] ?? '';
      const column = Math.floor(random() * (line.length + 1));
      switch (Math.floor(random() * 7)) {
        case 0:
          lines.splice(at, 1);
          break;
        case 1:
          lines.splice(at, 0, line);
          break;
        case 2:
          lines.splice(at, 0, pick(junk));
          break;
        case 3:
          lines[at] = line.slice(0, column) + pick(junk) + line.slice(column);
          break;
        case 4:
          lines[at] = line.slice(0, column) + line.slice(column + 1 + Math.floor(random() * 5));
          break;
        case 5:
          lines[at] = line.replace(/\d+/, pick(junk));
          break;
        default:
          lines.length = at;
      }
    }
    return lines.join(random() < 0.8 ? '\r\n' : '\n');
  }

  /** The result, or the SdpError thrown; anything else thrown fails the test. */
  function outcome<T>(run: () => T): T | SdpError {
    try {
      return run();
    } catch (error) {
      expect(error).toBeInstanceOf(SdpError);
      expect([400, 488]).toContain((error as GatewayError).sipStatus);
      return error as SdpError;
    }
  }

  it('answerOffer: 400 mutated softphone offers give an answer or an SdpError, nothing else', () => {
    const random = seededRandom(3264);
    for (let i = 0; i < 400; i++) {
      const offer = mutate(random);
      const answer = outcome(() => answerOffer(offer, LOCAL));
      // Whatever we accept, we answer with SDP we can read back, m= line for m= line.
      if (!(answer instanceof SdpError)) expect(readSdp(answer.sdp)).toHaveLength(readSdp(offer).length);
    }
  });

  it('acceptAnswer: 200 mutated answers give negotiated media or an SdpError, nothing else', () => {
    const random = seededRandom(4566);
    const offer = createOffer(LOCAL);
    for (let i = 0; i < 200; i++) outcome(() => acceptAnswer(offer, mutate(random)));
  });

  it('100 strings of random characters give SdpError 400', () => {
    const random = seededRandom(2543);
    for (let i = 0; i < 100; i++) {
      const text = Array.from({ length: Math.floor(random() * 300) }, () => String.fromCharCode(Math.floor(random() * 0x250))).join('');
      expect(() => answerOffer(text, LOCAL)).toThrow(expect.objectContaining({ sipStatus: 400 }));
    }
  });
});
