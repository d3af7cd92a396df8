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

/** Per-weight gradient tolerance of {@link compareGradients}, relative to the weight's gradient norm. */
export const GRADIENT_RTOL = 1e-3;

/**
 * Weights whose gradients differ by more than `GRADIENT_RTOL·max(‖b‖, floor)`, worst first.
 * The floor (1e-3 × the RMS of all gradient norms) matters for weights whose true gradient is 0
 * — a key projection's bias (softmax ignores a shift shared by all keys) — where ‖b‖ is
 * rounding noise and each backend's noise differs.
 */
export function compareGradients(
  a: ReadonlyMap<string, Float32Array>,
  b: ReadonlyMap<string, Float32Array>,
): { outside: string[]; worstRelative: number; compared: number } {
  const names = [...b.keys()];
  const missing = names.filter((n) => a.get(n)?.length !== b.get(n)!.length);
  if (missing.length > 0 || a.size !== b.size) throw new Error(`gradients missing or of another size: ${missing.join(', ') || `${a.size} vs ${b.size}`}`);
  const norm = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  const norms = names.map((n) => norm(b.get(n)!));
  const floor = 1e-3 * Math.sqrt(norms.reduce((s, v) => s + v * v, 0) / Math.max(1, norms.length));
  const rows = names.map((n, i) => {
    const x = a.get(n)!;
    const y = b.get(n)!;
    let d = 0;
    for (let j = 0; j < y.length; j++) d += (x[j]! - y[j]!) ** 2;
    return { n, rel: Math.sqrt(d) / Math.max(norms[i]!, floor) };
  });
  rows.sort((p, q) => q.rel - p.rel);
  return {
    outside: rows.filter((r) => !(r.rel <= GRADIENT_RTOL)).map((r) => `${r.n} (${r.rel.toExponential(2)})`),
    worstRelative: rows[0]?.rel ?? 0,
    compared: rows.length,
  };
}
