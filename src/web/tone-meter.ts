/**
 * Measures the dominant frequency of an audio stream with WebAudio, for tests that send a
 * known tone through the meeting. A remote WebRTC stream must also be attached to a media
 * element (AudioPlayback does that), or Chromium feeds silence to WebAudio.
 */
const FFT_SIZE = 8192;
const FRAMES = 15;
const FRAME_INTERVAL_MS = 100;
/** Below this a spectrum peak is noise or silence, not a tone. */
const SILENCE_DB = -80;

/** The median of the peak frequency over ~15 frames, or null when most frames hear no tone. */
export async function measureToneHz(stream: MediaStream): Promise<number | null> {
  const context = new AudioContext();
  try {
    await context.resume();
    const analyser = new AnalyserNode(context, { fftSize: FFT_SIZE, smoothingTimeConstant: 0 });
    context.createMediaStreamSource(stream).connect(analyser);
    const binHz = context.sampleRate / FFT_SIZE;
    // Let the analyser's window fill with real samples before the first frame.
    await sleep((FFT_SIZE / context.sampleRate) * 1000);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    const peaks: number[] = [];
    for (let frame = 0; frame < FRAMES; frame++) {
      analyser.getFloatFrequencyData(spectrum);
      const bin = peakBin(spectrum);
      if (bin !== null) peaks.push(bin * binHz);
      await sleep(FRAME_INTERVAL_MS);
    }
    return peaks.length > FRAMES / 2 ? median(peaks) : null;
  } finally {
    await context.close();
  }
}

/** The loudest bin, refined between its neighbours by parabolic interpolation of the dB values. */
function peakBin(spectrum: Float32Array): number | null {
  let best = 1;
  for (let i = 2; i < spectrum.length - 1; i++) if (spectrum[i]! > spectrum[best]!) best = i;
  const [left, peak, right] = [spectrum[best - 1]!, spectrum[best]!, spectrum[best + 1]!];
  if (!(peak > SILENCE_DB)) return null;
  const curvature = left - 2 * peak + right;
  return curvature === 0 ? best : best + (0.5 * (left - right)) / curvature;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
