/**
 * Generated SDP bodies for the fuzz tests: session and media sections built from every
 * line the SDP reader (src/media/sdp/sdp-reader.ts) and the answer code look at (v=, c=,
 * m=, a=rtpmap, a=fmtp with opus and telephone-event parameters, the four directions,
 * a=ptime, a=rtcp-mux, a=rtcp), with lines missing, repeated and shuffled, absurd ports
 * and payload types, hostile values, and up to a thousand m= lines.
 */
import fc from 'fast-check';
import { anyText, controlText, numberText } from './hostile-values.js';

const payloadType: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('0', '8', '9', '18', '101', '110', '111', '96', '127') },
  { weight: 2, arbitrary: numberText },
  { weight: 1, arbitrary: fc.integer({ min: -300, max: 300 }).map(String) },
);

const port: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('40000', '0', '1', '65535', '65536', '-1', '40000/2', '99999999999') },
  { weight: 2, arbitrary: numberText },
);

const encoding = fc.constantFrom('PCMU', 'PCMA', 'G722', 'opus', 'telephone-event', 'pcmu', 'OPUS', 'G729', 'speex', '', 'x'.repeat(300));
const clockRate = fc.oneof(fc.constantFrom('8000', '48000', '16000', '0', '-8000', '8000.5'), numberText);

const fmtpParameters = fc.oneof(
  fc.constantFrom('0-16', '0-15,16', '0-11,16', '0-255', '16-0', '0-16,' .repeat(40), 'minptime=10;useinbandfec=1', 'maxplaybackrate=16000;stereo=1;sprop-stereo=1',
    'maxaveragebitrate=999999999;cbr=1;usedtx=1', 'minptime=;useinbandfec', ';;;', '=', 'mode=20'),
  fc.array(fc.tuple(fc.constantFrom('minptime', 'useinbandfec', 'usedtx', 'stereo', 'cbr', 'maxplaybackrate', 'maxaveragebitrate', 'ptime', 'sprop-maxcapturerate', 'x'), numberText), { maxLength: 8 })
    .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join(';')),
  anyText,
);

const mediaAttribute: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(payloadType, encoding, clockRate, fc.option(fc.oneof(fc.constantFrom('1', '2'), numberText), { nil: undefined }))
    .map(([pt, name, rate, channels]) => `a=rtpmap:${pt} ${name}/${rate}${channels === undefined ? '' : `/${channels}`}`) },
  { weight: 3, arbitrary: fc.tuple(payloadType, fmtpParameters).map(([pt, params]) => `a=fmtp:${pt} ${params}`) },
  { weight: 2, arbitrary: fc.constantFrom('a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive', 'a=rtcp-mux', 'a=rtcp-mux-only', 'a=rtpmap:', 'a=fmtp:', 'a=', 'a=rtcp') },
  { weight: 2, arbitrary: numberText.map((n) => `a=ptime:${n}`) },
  { weight: 1, arbitrary: numberText.map((n) => `a=maxptime:${n}`) },
  { weight: 2, arbitrary: fc.tuple(port, fc.constantFrom('', ' IN IP4 127.0.0.1', ' IN IP6 ::1', ' IN IP4 999.0.0.1', ' IN')).map(([p, address]) => `a=rtcp:${p}${address}`) },
  { weight: 1, arbitrary: fc.constantFrom('a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz', 'a=ssrc:1 cname:x', 'a=mid:0', 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level') },
  { weight: 1, arbitrary: fc.tuple(fc.stringMatching(/^[a-z-]{1,12}$/), anyText).map(([name, value]) => `a=${name}:${value}`) },
);

const connection: fc.Arbitrary<string> = fc.constantFrom(
  'c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0', 'c=IN IP6 ::1', 'c=IN IP4 999.1.1.1', 'c=IN IP4', 'c=IN IP4 224.2.1.1/127/3', 'c=IN IP6 127.0.0.1',
  'c=IN IP4 host.example.com', 'c=', 'c=IN IP4 127.0.0.1 extra',
);

const mediaLine: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('audio', 'audio', 'audio', 'video', 'application', 'AUDIO', 'image', ''),
    port,
    fc.constantFrom('RTP/AVP', 'RTP/AVP', 'RTP/AVP', 'RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'rtp/avp', 'RTP/AVPF', 'udptl', ''),
    fc.array(payloadType, { maxLength: 12 }),
  )
  .map(([type, p, proto, formats]) => `m=${type} ${p} ${proto}${formats.map((f) => ` ${f}`).join('')}`);

const mediaSection: fc.Arbitrary<string[]> = fc
  .tuple(mediaLine, fc.option(connection, { nil: undefined }), fc.array(mediaAttribute, { maxLength: 10 }))
  .map(([m, c, attributes]) => [m, ...(c === undefined ? [] : [c]), ...attributes]);

/** A phone's usual offer, which the mutations start from half the time. */
const PLAIN_AUDIO = ['m=audio 40000 RTP/AVP 0 8 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv'];

const sessionHead: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.constantFrom('v=0', 'v=0', 'v=0', 'v=1', 'v=', 'v=00', 'V=0'),
    fc.constantFrom('o=- 1 1 IN IP4 127.0.0.1', 'o=- 18446744073709551616 -1 IN IP4 127.0.0.1', 'o=', 'o=- 1 1 IN IP4'),
    fc.constantFrom('s=-', 's=', 's= '),
    // Mostly a usable session c=, so that the offers get past it to the m= lines.
    fc.oneof({ weight: 3, arbitrary: fc.constant('c=IN IP4 127.0.0.1') }, { weight: 2, arbitrary: fc.option(connection, { nil: undefined }) }),
    fc.constantFrom('t=0 0', 't=', 't=-1 99999999999999999999'),
    fc.array(fc.oneof(fc.constantFrom('a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive', 'a=group:BUNDLE 0', 'b=AS:64', 'b=AS:-1', 'i=x', 'k=clear:x'), mediaAttribute), { maxLength: 3 }),
  )
  .map(([v, o, s, c, t, attributes]) => [v, o, s, ...(c === undefined ? [] : [c]), t, ...attributes]);

type LineEdit = readonly ['drop' | 'repeat' | 'swap', number];

const lineEdit: fc.Arbitrary<LineEdit> = fc.tuple(fc.constantFrom('drop' as const, 'repeat' as const, 'swap' as const), fc.nat());

function edit(lines: string[], [how, at]: LineEdit): string[] {
  if (lines.length === 0) return lines;
  const i = at % lines.length;
  const out = [...lines];
  if (how === 'drop') out.splice(i, 1);
  else if (how === 'repeat') out.splice(i, 0, lines[i]!);
  else [out[i], out[(i + 1) % out.length]] = [out[(i + 1) % out.length]!, out[i]!];
  return out;
}

/** An SDP body: sometimes a usual offer lightly broken, often one made of generated sections, now and then 17 or 1,000 m= lines. */
export const sdpBody: fc.Arbitrary<string> = fc
  .record({
    head: sessionHead,
    media: fc.oneof(
      { weight: 3, arbitrary: fc.constant([PLAIN_AUDIO]) },
      { weight: 6, arbitrary: fc.array(fc.oneof(mediaSection, fc.constant(PLAIN_AUDIO)), { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(17, 1_000), fc.oneof(mediaSection, fc.constant(PLAIN_AUDIO))).map(([n, section]) => Array.from({ length: n }, () => section)) },
    ),
    edits: fc.array(lineEdit, { maxLength: 4 }),
    lineEnd: fc.constantFrom('\r\n', '\r\n', '\n', '\r'),
    tail: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: controlText }, { weight: 1, arbitrary: anyText }),
  })
  .map(({ head, media, edits, lineEnd, tail }) => {
    const lines = edits.reduce(edit, [...head, ...media.flat()]);
    return `${lines.join(lineEnd)}${lineEnd}${tail}`;
  });
