/**
 * Validation of incoming signaling frames. Anything that is not a well-formed request of
 * a known method becomes a GatewayError('bad_request') naming what is wrong. Deep media
 * parameters (RTP parameters, DTLS fingerprints) are shape-checked here and fully
 * validated by mediasoup when used.
 */
import { GatewayError } from '../errors.js';
import { type MethodName, type Methods, PROTOCOL_VERSION, type Request } from './protocol.js';

export const MAX_FRAME_BYTES = 64 * 1024;

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);

function bad(message: string): GatewayError {
  return new GatewayError('bad_request', message);
}

function id(data: Fields, key: string): string {
  const value = data[key];
  if (typeof value !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(value)) throw bad(`"${key}" must be an id string`);
  return value;
}

function object<T>(data: Fields, key: string, required: string[]): T {
  const value = data[key];
  if (!isObject(value)) throw bad(`"${key}" must be an object`);
  for (const field of required) {
    if (!(field in value)) throw bad(`"${key}.${field}" is missing`);
  }
  return value as T;
}

const validators: { [M in MethodName]: (data: Fields) => Methods[M]['request'] } = {
  getRouterRtpCapabilities: () => ({}),
  join(data) {
    const displayName = typeof data.displayName === 'string' ? data.displayName.trim() : '';
    if (displayName.length < 1 || displayName.length > 64 || /[\u0000-\u001f\u007f]/.test(displayName)) {
      throw bad('"displayName" must be 1 to 64 printable characters');
    }
    const rtpCapabilities = object<Methods['join']['request']['rtpCapabilities']>(data, 'rtpCapabilities', ['codecs']);
    if (!Array.isArray(rtpCapabilities.codecs)) throw bad('"rtpCapabilities.codecs" must be an array');
    return { displayName, rtpCapabilities };
  },
  createTransport(data) {
    if (data.direction !== 'send' && data.direction !== 'recv') throw bad('"direction" must be "send" or "recv"');
    return { direction: data.direction };
  },
  connectTransport(data) {
    return {
      transportId: id(data, 'transportId'),
      dtlsParameters: object(data, 'dtlsParameters', ['fingerprints']),
    };
  },
  produce(data) {
    if (data.kind !== 'audio') throw bad('"kind" must be "audio" (this gateway carries audio only)');
    const rtpParameters = object<Methods['produce']['request']['rtpParameters']>(data, 'rtpParameters', ['codecs']);
    if (!Array.isArray(rtpParameters.codecs)) throw bad('"rtpParameters.codecs" must be an array');
    return { transportId: id(data, 'transportId'), kind: 'audio', rtpParameters };
  },
  consume: (data) => ({ transportId: id(data, 'transportId'), producerId: id(data, 'producerId') }),
  resume: (data) => ({ consumerId: id(data, 'consumerId') }),
  mute(data) {
    if (typeof data.muted !== 'boolean') throw bad('"muted" must be true or false');
    return { muted: data.muted };
  },
  leave: () => ({}),
  dialOut(data) {
    const to = typeof data.to === 'string' ? data.to.trim() : '';
    // The dial-out service checks the address or number itself; this only bounds the frame.
    if (to.length < 1 || to.length > 256 || /[\u0000-\u001f\u007f]/.test(to)) throw bad('"to" must be 1 to 256 printable characters');
    if (data.trunk === undefined || data.trunk === '') return { to };
    if (typeof data.trunk !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(data.trunk)) throw bad('"trunk" must be a trunk id');
    return { to, trunk: data.trunk };
  },
};

/** The request id when the frame has a usable one, so an error reply can be correlated. */
export function requestIdOf(frame: unknown): number | null {
  return isObject(frame) && Number.isSafeInteger(frame.id) && (frame.id as number) >= 0 ? (frame.id as number) : null;
}

export function parseRequest(text: string): Request {
  if (Buffer.byteLength(text) > MAX_FRAME_BYTES) throw bad(`message larger than ${MAX_FRAME_BYTES} bytes`);
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw bad('message is not valid JSON');
  }
  if (!isObject(frame)) throw bad('message must be a JSON object');
  if (frame.v !== PROTOCOL_VERSION) throw bad(`unsupported protocol version ${JSON.stringify(frame.v)}; this server speaks ${PROTOCOL_VERSION}`);
  const requestId = requestIdOf(frame);
  if (requestId === null) throw bad('"id" must be a non-negative integer');
  const method = frame.method;
  if (typeof method !== 'string' || !Object.hasOwn(validators, method)) {
    throw bad(`unknown method ${JSON.stringify(method)}`);
  }
  const data = frame.data ?? {};
  if (!isObject(data)) throw bad('"data" must be an object');
  const validate = validators[method as MethodName] as (d: Fields) => Request['data'];
  return { v: PROTOCOL_VERSION, id: requestId, method: method as MethodName, data: validate(data) };
}
