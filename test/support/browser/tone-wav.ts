/**
 * A sine tone as a WAV file (S16LE mono), the fake microphone Chromium plays with
 * --use-file-for-fake-audio-capture. The file loops, so it ends on a whole number of
 * cycles when the frequency allows it.
 */
import { writeFile } from 'node:fs/promises';

export interface ToneWavOptions {
  readonly hz: number;
  readonly seconds?: number;
  readonly sampleRate?: number;
  /** Peak level, 0..1 of full scale. */
  readonly amplitude?: number;
}

const HEADER_BYTES = 44;

export function toneWav({ hz, seconds = 60, sampleRate = 48_000, amplitude = 0.5 }: ToneWavOptions): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const wav = Buffer.alloc(HEADER_BYTES + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(wav.length - 8, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  const peak = Math.round(amplitude * 32_767);
  for (let i = 0; i < samples; i++) {
    wav.writeInt16LE(Math.round(peak * Math.sin((2 * Math.PI * hz * i) / sampleRate)), HEADER_BYTES + i * 2);
  }
  return wav;
}

export async function writeToneWav(path: string, options: ToneWavOptions): Promise<void> {
  await writeFile(path, toneWav(options));
}
