/**
 * Generated WebSocket signaling frames for the fuzz tests (protocol: src/signaling/protocol.ts):
 * requests of every method with each field wrong in turn (version, id, method, data and
 * its fields), JSON that is not a request, text that is not JSON, deep nesting, prototype
 * keys, binary frames, text frames that are not UTF-8, and frames beyond the 64 KiB limit.
 */
import fc from 'fast-check';
import { anyText, badUtf8, controlText, numberText } from './hostile-values.js';

export type SignalingFrame =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly data: Uint8Array }
  /** A text frame whose payload is not UTF-8: a protocol error the server closes on (1007). */
  | { readonly kind: 'bad-utf8'; readonly data: Uint8Array };

const METHODS = ['getRouterRtpCapabilities', 'join', 'createTransport', 'connectTransport', 'produce', 'consume', 'resume', 'mute', 'leave', 'dialOut'];

const jsonScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e308, '', '1'),
  numberText,
  anyText,
  controlText,
);

const idText = fc.oneof(fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/), fc.constantFrom('', 'a'.repeat(65), '../x', 'id with space', '__proto__'), anyText);

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: jsonScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom({}, [], [[]], { codecs: 'x' }, { codecs: [{}] }, { fingerprints: 'x' }, { fingerprints: [] }) },
);

/** Data shaped for a method, each field sometimes replaced by something hostile. */
const methodData: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    displayName: fc.oneof(fc.constantFrom('Alice', ' ', 'x'.repeat(65), 'Ünïcödé 🙂'), controlText, hostile),
    rtpCapabilities: fc.oneof(
      fc.constant({ codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100 }], headerExtensions: [] }),
      fc.record({ codecs: fc.array(fc.record({ kind: fc.constantFrom('audio', 'video', 'x'), mimeType: anyText, clockRate: jsonScalar, preferredPayloadType: jsonScalar }), { maxLength: 3 }) }),
      hostile,
    ),
    direction: fc.oneof(fc.constantFrom('send', 'recv', 'both', 'SEND'), hostile),
    transportId: fc.oneof(idText, hostile),
    producerId: fc.oneof(idText, hostile),
    consumerId: fc.oneof(idText, hostile),
    to: fc.oneof(fc.constantFrom('sip:bob@127.0.0.1', '+4930123456', ''), controlText, hostile),
    trunk: fc.oneof(idText, hostile),
    dtlsParameters: fc.oneof(
      fc.constant({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] }),
      fc.record({ role: fc.oneof(fc.constantFrom('client', 'server', 'auto'), hostile), fingerprints: fc.oneof(fc.array(fc.record({ algorithm: anyText, value: anyText }), { maxLength: 2 }), hostile) }),
      hostile,
    ),
    kind: fc.oneof(fc.constantFrom('audio', 'video'), hostile),
    rtpParameters: fc.oneof(fc.constant({ codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1111 }] }), fc.record({ codecs: hostile }), hostile),
    muted: fc.oneof(fc.boolean(), hostile),
  },
  { requiredKeys: [] },
);

const request: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      v: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, '1', null, 1.0000001, -1) }),
      id: fc.oneof({ weight: 6, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 53, '7', null, 1e300, Number.MAX_SAFE_INTEGER) }),
      method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'JOIN', '', 'x'.repeat(1000)) }, { weight: 1, arbitrary: hostile }),
      data: fc.oneof({ weight: 6, arbitrary: methodData }, { weight: 1, arbitrary: hostile }),
    },
    { requiredKeys: [] },
  );

/** A request's JSON with a "__proto__" key first, which JSON.parse keeps as an own property. */
function withProtoKey(json: string): string {
  const rest = json.slice(1);
  return rest === '}' ? '{"__proto__":{"polluted":true}}' : `{"__proto__":{"polluted":true},${rest}`;
}

/** A signaling frame, mostly requests with something wrong, sometimes not a request at all. */
export const signalingFrame: fc.Arbitrary<SignalingFrame> = fc.oneof(
  { weight: 12, arbitrary: request.map((r): SignalingFrame => ({ kind: 'text', text: JSON.stringify(r) })) },
  { weight: 1, arbitrary: request.map((r): SignalingFrame => ({ kind: 'text', text: withProtoKey(JSON.stringify(r)) })) },
  { weight: 2, arbitrary: fc.oneof(anyText, fc.constantFrom('', '{', '[]', 'null', '1', '"x"', '{"v":1,"id":1,"method":"join"', '{"v":1}{"v":1}')).map((text): SignalingFrame => ({ kind: 'text', text })) },
  { weight: 1, arbitrary: fc.jsonValue().map((value): SignalingFrame => ({ kind: 'text', text: JSON.stringify(value) ?? 'null' })) },
  { weight: 1, arbitrary: fc.constantFrom(100, 5_000, 100_000).map((depth): SignalingFrame => ({ kind: 'text', text: `${'['.repeat(depth)}${']'.repeat(depth)}` })) },
  { weight: 1, arbitrary: fc.constantFrom(65_000, 65_537, 200_000).map((size): SignalingFrame => ({ kind: 'text', text: JSON.stringify({ v: 1, id: 1, method: 'join', data: { displayName: 'x'.repeat(size) } }) })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((data): SignalingFrame => ({ kind: 'binary', data })) },
  { weight: 1, arbitrary: badUtf8.map((data): SignalingFrame => ({ kind: 'bad-utf8', data })) },
);
