import type { BandThresholdMode } from './boundaryBand.js';

/**
 * Up to this many mask pixels, {@link BoundaryAwareRefinement} computes a fixed-threshold band on
 * the host from the read-back probabilities (8 masks of 128²: inference's `refine: 'selected'`),
 * instead of ~8 small kernels (two max-pools and their glue) that each pay a dispatch — a
 * thread-pool wake-up on threaded wasm — plus the band's own read-back. Larger batches of masks
 * (training refines every candidate) keep the kernels, which the threads do speed up.
 */
export const HOST_BAND_MAX_PIXELS = 8 * 128 * 128;

/**
 * The band of `boundaryBand` computed on the host from the probabilities `p = σ(logits)` read back
 * from the backend: `g = dilate(p) − erode(p)` over a `kernel × kernel` window clipped at the
 * borders (max-pool `'same'`), then `g > ε` (or `g > ε·max g` per mask in `'relative'` mode), with
 * the backend's float32 arithmetic reproduced (`Math.fround`), so the result equals the kernel
 * path bit for bit given the same `p`.
 * @param probs - `p` in row-major `[batch, masks, height, width]` order.
 * @returns the band, 0/1, same layout.
 * @internal
 */
export function hostBoundaryBand(
  probs: Float32Array,
  shape: readonly [number, number, number, number],
  kernel: number,
  epsilon: number,
  mode: BandThresholdMode,
): Float32Array {
  const [b, n, h, w] = shape;
  const r = (kernel - 1) / 2;
  const plane = h * w;
  const band = new Float32Array(b * n * plane);
  // Separable window max/min: rows first, then columns (max and min are exact in any order).
  const rowMax = new Float32Array(plane);
  const rowMin = new Float32Array(plane);
  const g = new Float32Array(plane);
  const eps = Math.fround(epsilon);
  for (let m = 0; m < b * n; m++) {
    const base = m * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let hi = -Infinity;
        let lo = Infinity;
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          const v = probs[base + y * w + xx]!;
          if (v > hi) hi = v;
          if (v < lo) lo = v;
        }
        rowMax[y * w + x] = hi;
        rowMin[y * w + x] = lo;
      }
    }
    let gMax = -Infinity;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let hi = -Infinity;
        let lo = Infinity;
        for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
          const i = yy * w + x;
          if (rowMax[i]! > hi) hi = rowMax[i]!;
          if (rowMin[i]! < lo) lo = rowMin[i]!;
        }
        const d = Math.fround(hi - lo);
        g[y * w + x] = d;
        if (d > gMax) gMax = d;
      }
    }
    const threshold = mode === 'relative' ? Math.fround(gMax * eps) : eps;
    for (let i = 0; i < plane; i++) if (g[i]! > threshold) band[base + i] = 1;
  }
  return band;
}
