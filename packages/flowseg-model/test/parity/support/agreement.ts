/**
 * Tolerances of the parity suite. Backends compute in float32 with different summation
 * orders (and BAR dense vs band on webgpu); measured differences on the small checkpoint are
 * ~1e-5, so `|a − b| ≤ ATOL + RTOL·|b|` with 1e-3 each leaves two orders of margin while still
 * catching a wrong kernel (those are off by O(0.1) or more).
 */
export const LOGIT_ATOL = 1e-3;
/** Relative part of the logit tolerance. */
export const LOGIT_RTOL = 1e-3;
/** Selected masks (`logit > 0` at image size) must agree on at least this fraction of pixels. */
export const MIN_PIXEL_AGREEMENT = 0.995;

/** Largest `|a − b|` and the count of elements outside `ATOL + RTOL·|b|`. */
export function compareLogits(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbsDiff: number; outside: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let maxAbsDiff = 0;
  let outside = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= LOGIT_ATOL + LOGIT_RTOL * Math.abs(b[i]!))) outside++;
    if (!(d <= maxAbsDiff)) maxAbsDiff = d;
  }
  return { maxAbsDiff, outside };
}

/** Fraction of pixels where `a > 0` and `b > 0` agree. */
export function maskAgreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > 0 === b[i]! > 0) same++;
  return a.length === 0 ? 1 : same / a.length;
}
