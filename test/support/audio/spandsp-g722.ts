/**
 * The reference G.722 for tests: spandsp's implementation (which passes the ITU-T test
 * sequences), called in Debian's libspandsp2 through Python's ctypes, so no compiler is
 * needed. Both come with the test prerequisites (scripts/setup.sh --test).
 */
import { spawnSync } from 'node:child_process';

const SCRIPT = `
import ctypes, sys
lib = ctypes.CDLL('libspandsp.so.2')
for name in ('g722_encode_init', 'g722_decode_init'):
    getattr(lib, name).restype = ctypes.c_void_p
    getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
lib.g722_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
data = sys.stdin.buffer.read()
if sys.argv[1] == 'encode':
    state = lib.g722_encode_init(None, 64000, 0)
    out = ctypes.create_string_buffer(len(data) // 4 + 1)
    count = lib.g722_encode(state, out, data, len(data) // 2)
    sys.stdout.buffer.write(out.raw[:count])
else:
    state = lib.g722_decode_init(None, 64000, 0)
    out = ctypes.create_string_buffer(len(data) * 4)
    count = lib.g722_decode(state, out, data, len(data))
    sys.stdout.buffer.write(out.raw[:count * 2])
`;

function run(mode: 'encode' | 'decode', input: Buffer): Buffer {
  const result = spawnSync('python3', ['-c', SCRIPT, mode], { input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    throw new Error(`spandsp G.722 reference failed (python3 and libspandsp2 come with scripts/setup.sh --test): ${result.error?.message ?? result.stderr.toString()}`);
  }
  return result.stdout;
}

export function spandspG722Encode(pcm: Int16Array): Buffer {
  return run('encode', Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
}

export function spandspG722Decode(payload: Uint8Array): Int16Array {
  const out = run('decode', Buffer.from(payload));
  return new Int16Array(out.buffer, out.byteOffset, out.length / 2);
}
