/**
 * PCM WAV files (16-bit signed little-endian, any channel count and rate): what baresip
 * reads as its microphone and what its sndfile module records.
 */
import { readFile, writeFile } from 'node:fs/promises';

export interface PcmAudio {
  readonly sampleRate: number;
  readonly channels: number;
  /** Interleaved frames: L R L R ... for stereo. */
  readonly samples: Int16Array;
}

const WAVE_FORMAT_PCM = 1;
/** WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID. */
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const HEADER_BYTES = 44;

export class WavFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavFormatError';
  }
}

export function encodeWav({ sampleRate, channels, samples }: PcmAudio): Buffer {
  const dataBytes = samples.length * 2;
  const wav = Buffer.alloc(HEADER_BYTES + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(wav.length - 8, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  wav.writeUInt16LE(channels, 22);
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * channels * 2, 28);
  wav.writeUInt16LE(channels * 2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) wav.writeInt16LE(samples[i]!, HEADER_BYTES + i * 2);
  return wav;
}

/**
 * Parses a RIFF/WAVE file chunk by chunk (writers add LIST, fact, PEAK... chunks).
 * A data chunk that claims more bytes than the file holds is cut to what is there.
 */
export function decodeWav(file: Buffer): PcmAudio {
  if (file.length < 12 || file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let format: { sampleRate: number; channels: number } | undefined;
  for (let offset = 12; offset + 8 <= file.length; ) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') format = parseFormat(file.subarray(body, body + size));
    if (id === 'data') {
      if (!format) throw new WavFormatError('data chunk before fmt chunk');
      const end = Math.min(body + size, file.length);
      const frameBytes = format.channels * 2;
      const bytes = end - body - ((end - body) % frameBytes);
      const samples = new Int16Array(bytes / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = file.readInt16LE(body + i * 2);
      return { ...format, samples };
    }
    offset = body + size + (size % 2); // chunks are word aligned
  }
  throw new WavFormatError('no data chunk');
}

function parseFormat(fmt: Buffer): { sampleRate: number; channels: number } {
  if (fmt.length < 16) throw new WavFormatError('fmt chunk too short');
  let tag = fmt.readUInt16LE(0);
  if (tag === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) tag = fmt.readUInt16LE(24);
  const bitsPerSample = fmt.readUInt16LE(14);
  if (tag !== WAVE_FORMAT_PCM || bitsPerSample !== 16) {
    throw new WavFormatError(`only 16-bit PCM is supported (format ${tag}, ${bitsPerSample} bits)`);
  }
  return { channels: fmt.readUInt16LE(2), sampleRate: fmt.readUInt32LE(4) };
}

export async function readWav(path: string): Promise<PcmAudio> {
  return decodeWav(await readFile(path));
}

export async function writeWav(path: string, audio: PcmAudio): Promise<void> {
  await writeFile(path, encodeWav(audio));
}

/** One channel of interleaved audio (0 = left). */
export function channel({ channels, samples }: PcmAudio, index: number): Int16Array {
  if (index < 0 || index >= channels) throw new RangeError(`channel ${index} of ${channels}`);
  const out = new Int16Array(Math.floor(samples.length / channels));
  for (let frame = 0; frame < out.length; frame++) out[frame] = samples[frame * channels + index]!;
  return out;
}

/** The average of all channels, for measuring a tone whatever the channel layout. */
export function mixToMono({ channels, samples }: PcmAudio): Int16Array {
  if (channels === 1) return samples;
  const out = new Int16Array(Math.floor(samples.length / channels));
  for (let frame = 0; frame < out.length; frame++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[frame * channels + c]!;
    out[frame] = Math.round(sum / channels);
  }
  return out;
}

/** Seconds of audio the file holds. */
export function durationSeconds({ sampleRate, channels, samples }: PcmAudio): number {
  return samples.length / channels / sampleRate;
}
