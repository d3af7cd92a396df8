/** {@link compactFeatureTaps}'s result. */
export interface CompactFeatureTaps {
  /** The distinct pixels the taps read, flat in `[batch, height, width]`, in order of first use. */
  readonly pixels: Int32Array;
  /** The taps rewritten as rows of `pixels` (−1 kept for taps outside the image). */
  readonly taps: Int32Array;
}

/**
 * Rewrite feature taps (flat pixel indices into `[batch, height, width]`, −1 = outside the
 * image) as indices into the list of distinct pixels they read, so that a per-pixel map such as
 * `f_comp` (a 1×1 conv) needs computing only at those pixels: on a thin band they are a few
 * percent of the image.
 * @param taps - flat pixel indices, each `−1` or in `[0, pixelCount)`.
 * @param pixelCount - `batch · height · width`.
 * @throws RangeError when a tap is out of range.
 */
export function compactFeatureTaps(taps: Int32Array, pixelCount: number): CompactFeatureTaps {
  const rowOf = new Int32Array(pixelCount).fill(-1);
  const pixels: number[] = [];
  const out = new Int32Array(taps.length);
  for (let i = 0; i < taps.length; i++) {
    const p = taps[i]!;
    if (p < 0) {
      out[i] = -1;
      continue;
    }
    if (p >= pixelCount) throw new RangeError(`taps[${i}] = ${p} is outside [0, ${pixelCount})`);
    let row = rowOf[p]!;
    if (row < 0) {
      row = pixels.length;
      rowOf[p] = row;
      pixels.push(p);
    }
    out[i] = row;
  }
  return { pixels: Int32Array.from(pixels), taps: out };
}
