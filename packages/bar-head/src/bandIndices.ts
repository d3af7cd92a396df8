/**
 * Gather indices that let {@link BoundaryRefineNet} evaluate `f_refine` only where it
 * matters: at the band pixels P (its output), the pixels Q within the conv radius of P (the
 * hidden activations those outputs read), and the image pixels U under Q (the per-image
 * feature term). Every out-of-image tap is −1, read as zero by {@link gatherRows}, which
 * reproduces the convs' zero 'same' padding exactly.
 */
export interface BandIndices {
  /** Number of band pixels |P|. */
  readonly bandCount: number;
  /** Number of hidden-activation pixels |Q| (P dilated by the conv kernel, clipped to the image). */
  readonly hiddenCount: number;
  /** Number of distinct image pixels |U| under Q. */
  readonly imageCount: number;
  /** Flat mask pixel `((b·N + n)·H + y)·W + x` of each P row, ascending. `[|P|]` */
  readonly bandPixels: Int32Array;
  /** For each Q row and tap (row-major over the kernel): the flat mask pixel, or −1 outside the image. `[|Q|·k²]` */
  readonly maskTaps: Int32Array;
  /** For each Q row: its row in U. `[|Q|]` */
  readonly hiddenToImage: Int32Array;
  /** For each U row and tap: the flat image pixel `(b·H + y)·W + x`, or −1 outside the image. `[|U|·k²]` */
  readonly featureTaps: Int32Array;
  /** For each P row and tap t: `qRow·k² + t` (an element of the `[|Q|, k²]` per-tap products), or −1 outside the image. `[|P|·k²]` */
  readonly outputTaps: Int32Array;
}

/**
 * Build {@link BandIndices} from band values on the CPU.
 *
 * @param band - `[batch, masks, height, width]` values, nonzero = in the band.
 * @param shape - `[batch, masks, height, width]`.
 * @param kernel - odd conv kernel side of `f_refine`.
 */
export function buildBandIndices(
  band: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  kernel: number,
): BandIndices {
  const [b, n, h, w] = shape;
  const r = (kernel - 1) / 2;
  const taps = kernel * kernel;
  const plane = h * w;
  const total = b * n * plane;

  // P in flat order.
  const bandRow = new Int32Array(total).fill(-1);
  let bandCount = 0;
  for (let i = 0; i < total; i++) if (band[i] !== 0) bandRow[i] = bandCount++;
  const bandPixels = new Int32Array(bandCount);
  for (let i = 0; i < total; i++) if (bandRow[i]! >= 0) bandPixels[bandRow[i]!] = i;

  // Q: P dilated by the kernel inside each mask plane; qRow = 1 + row, 0 = not in Q.
  const qRow = new Int32Array(total);
  for (let mask = 0; mask < b * n; mask++) {
    const base = mask * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (bandRow[base + y * w + x]! < 0) continue;
        const x0 = Math.max(0, x - r);
        const x1 = Math.min(w - 1, x + r);
        for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
          const rowBase = base + yy * w;
          for (let xx = x0; xx <= x1; xx++) qRow[rowBase + xx] = 1;
        }
      }
    }
  }
  let hiddenCount = 0;
  for (let i = 0; i < total; i++) if (qRow[i] !== 0) qRow[i] = ++hiddenCount;

  // U: image pixels under Q, the Q → U map, and Q's mask taps.
  const uRow = new Int32Array(b * plane);
  const hiddenToImage = new Int32Array(hiddenCount);
  const maskTaps = new Int32Array(hiddenCount * taps);
  let imageCount = 0;
  for (let mask = 0; mask < b * n; mask++) {
    const base = mask * plane;
    const imageBase = Math.floor(mask / n) * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const q = qRow[base + y * w + x]! - 1;
        if (q < 0) continue;
        const pixel = imageBase + y * w + x;
        if (uRow[pixel] === 0) uRow[pixel] = ++imageCount;
        hiddenToImage[q] = uRow[pixel]! - 1;
        writeTaps(maskTaps, q * taps, base, y, x, h, w, r);
      }
    }
  }

  const featureTaps = new Int32Array(imageCount * taps);
  for (let img = 0; img < b; img++) {
    const base = img * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = uRow[base + y * w + x]! - 1;
        if (u >= 0) writeTaps(featureTaps, u * taps, base, y, x, h, w, r);
      }
    }
  }

  // Output taps: tap t of band pixel p reads the per-tap product (qRow of p + offset_t, t).
  const outputTaps = new Int32Array(bandCount * taps);
  for (let row = 0; row < bandCount; row++) {
    const i = bandPixels[row]!;
    const base = i - (i % plane);
    const y = Math.floor((i - base) / w);
    const x = i - base - y * w;
    writeTaps(outputTaps, row * taps, base, y, x, h, w, r);
    for (let t = 0; t < taps; t++) {
      const at = row * taps + t;
      const pixel = outputTaps[at]!;
      // Every in-image neighbour of a band pixel is in Q by construction.
      if (pixel >= 0) outputTaps[at] = (qRow[pixel]! - 1) * taps + t;
    }
  }

  return { bandCount, hiddenCount, imageCount, bandPixels, maskTaps, hiddenToImage, featureTaps, outputTaps };
}

/** Write the flat pixel of every tap of the (2r+1)² window at (y, x) of the plane at `base`, −1 outside. */
function writeTaps(
  out: Int32Array,
  at: number,
  base: number,
  y: number,
  x: number,
  h: number,
  w: number,
  r: number,
): void {
  let k = at;
  for (let yy = y - r; yy <= y + r; yy++) {
    const rowInside = yy >= 0 && yy < h;
    for (let xx = x - r; xx <= x + r; xx++) out[k++] = rowInside && xx >= 0 && xx < w ? base + yy * w + xx : -1;
  }
}
