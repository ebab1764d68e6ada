/** In-place iterative radix-2 Cooley-Tukey FFT (decimation in time). */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (im.length !== n || n === 0 || (n & (n - 1)) !== 0) {
    throw new RangeError(`FFT size must be a power of two (got ${n}, ${im.length})`);
  }
  // Bit-reversal permutation, so the butterflies below can work in place.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const r = re[i]!;
      re[i] = re[j]!;
      re[j] = r;
      const m = im[i]!;
      im[i] = im[j]!;
      im[j] = m;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = (-2 * Math.PI) / size;
    for (let k = 0; k < half; k++) {
      const wRe = Math.cos(step * k);
      const wIm = Math.sin(step * k);
      for (let start = k; start < n; start += size) {
        const odd = start + half;
        const tRe = wRe * re[odd]! - wIm * im[odd]!;
        const tIm = wRe * im[odd]! + wIm * re[odd]!;
        re[odd] = re[start]! - tRe;
        im[odd] = im[start]! - tIm;
        re[start] = re[start]! + tRe;
        im[start] = im[start]! + tIm;
      }
    }
  }
}

export function nextPowerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size <<= 1;
  return size;
}
