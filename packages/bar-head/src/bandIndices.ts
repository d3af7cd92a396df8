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

/** An `Int32Array` that grows by doubling; `take()` returns the filled part (no copy). */
class Int32Builder {
  private data: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  /** Make room for `count` more values; returns the backing array (write at `length`, then advance it). */
  reserve(count: number): Int32Array {
    if (this.length + count > this.data.length) {
      const grown = new Int32Array(Math.max(2 * this.data.length, this.length + count));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    return this.data;
  }
  /** The filled part, a view of the backing array. */
  take(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Build {@link BandIndices} from band values on the CPU.
 *
 * Works one mask plane at a time with plane-sized scratch arrays (marks are stamped with the
 * plane's number, so nothing is cleared between planes): no array of the full
 * `[batch, masks, height, width]` size is allocated, only one read pass over `band` touches
 * every pixel, and the dilation and numbering stay within the box the band reaches.
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

  const bandPixels = new Int32Builder(1024);
  const maskTaps = new Int32Builder(1024 * taps);
  const hiddenToImage = new Int32Builder(1024);
  const outputTaps = new Int32Builder(1024 * taps);
  // Per plane: stamp of the plane that last put a pixel in Q, and that pixel's Q row.
  const qStamp = new Int32Array(plane).fill(-1);
  const qRow = new Int32Array(plane);
  // Per image: U row + 1 of each pixel (0 = not in U), and U's pixels in order of appearance.
  const uRow = new Int32Array(b * plane);
  const uPixels = new Int32Builder(1024);
  let hiddenCount = 0;

  for (let mask = 0; mask < b * n; mask++) {
    const base = mask * plane;
    const imageBase = Math.floor(mask / n) * plane;
    // P of this plane, ascending; Q marked around it.
    const firstBand = bandPixels.length;
    const pOut = bandPixels.reserve(plane);
    let pEnd = firstBand;
    let yMin = h;
    let yMax = -1;
    let xMin = w;
    let xMax = -1;
    for (let i = 0; i < plane; i++) {
      if (band[base + i] === 0) continue;
      pOut[pEnd++] = base + i;
      const y = Math.floor(i / w);
      const x = i - y * w;
      if (y < yMin) yMin = y;
      yMax = y;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w - 1, x + r);
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = x0; xx <= x1; xx++) qStamp[yy * w + xx] = mask;
      }
    }
    bandPixels.length = pEnd;
    if (pEnd === firstBand) continue;
    // Q in flat order (only the box the dilated band reaches), with U and the mask taps.
    const qBound = Math.min(plane, (pEnd - firstBand) * taps);
    const toImage = hiddenToImage.reserve(qBound);
    const qTaps = maskTaps.reserve(qBound * taps);
    const rowEnd = Math.min(h - 1, yMax + r);
    const colStart = Math.max(0, xMin - r);
    const colEnd = Math.min(w - 1, xMax + r);
    for (let y = Math.max(0, yMin - r); y <= rowEnd; y++) {
      for (let x = colStart; x <= colEnd; x++) {
        const local = y * w + x;
        if (qStamp[local] !== mask) continue;
        const q = hiddenCount++;
        qRow[local] = q;
        const pixel = imageBase + local;
        if (uRow[pixel] === 0) {
          uPixels.reserve(1)[uPixels.length++] = pixel;
          uRow[pixel] = uPixels.length;
        }
        toImage[q] = uRow[pixel]! - 1;
        writeTaps(qTaps, q * taps, base, y, x, h, w, r);
      }
    }
    hiddenToImage.length = hiddenCount;
    maskTaps.length = hiddenCount * taps;
    // Output taps: tap t of band pixel p reads the per-tap product (Q row of p + offset_t, t).
    const out = outputTaps.reserve((pEnd - firstBand) * taps);
    const pixelsOfP = bandPixels.take();
    for (let row = firstBand; row < pEnd; row++) {
      const local = pixelsOfP[row]! - base;
      const y = Math.floor(local / w);
      const x = local - y * w;
      const at = row * taps;
      writeTaps(out, at, 0, y, x, h, w, r);
      for (let t = 0; t < taps; t++) {
        const neighbour = out[at + t]!;
        // Every in-image neighbour of a band pixel is in Q by construction.
        if (neighbour >= 0) out[at + t] = qRow[neighbour]! * taps + t;
      }
    }
    outputTaps.length = pEnd * taps;
  }

  // Feature taps of U, in U's row order.
  const imageCount = uPixels.length;
  const featureTaps = new Int32Array(imageCount * taps);
  const pixels = uPixels.take();
  for (let u = 0; u < imageCount; u++) {
    const pixel = pixels[u]!;
    const base = pixel - (pixel % plane);
    const y = Math.floor((pixel - base) / w);
    writeTaps(featureTaps, u * taps, base, y, pixel - base - y * w, h, w, r);
  }

  return {
    bandCount: bandPixels.length,
    hiddenCount,
    imageCount,
    bandPixels: bandPixels.take(),
    maskTaps: maskTaps.take(),
    hiddenToImage: hiddenToImage.take(),
    featureTaps,
    outputTaps: outputTaps.take(),
  };
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
