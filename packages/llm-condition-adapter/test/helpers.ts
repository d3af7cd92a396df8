import * as tf from '@tensorflow/tfjs';
import type { SpecialTokenIds } from '@flowseg/llm-condition-adapter';

/** Special ids used throughout the tests; 0 is padding. */
export const P = 1;
export const E = 2;
export const S = 3;
export const PAD = 0;
export const IDS: SpecialTokenIds = { phraseStart: P, phraseEnd: E, seg: S };

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
export function randoms(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Hidden states `[B, T, D]` as nested arrays plus the tensor. */
export function hiddenStates(b: number, t: number, d: number, seed: number): { H: number[][][]; tensor: tf.Tensor3D } {
  const flat = randoms(b * t * d, seed);
  const H = Array.from({ length: b }, (_, i) =>
    Array.from({ length: t }, (_, j) => Array.from(flat.subarray((i * t + j) * d, (i * t + j + 1) * d))),
  );
  return { H, tensor: tf.tensor3d(flat, [b, t, d]) };
}

/** Mean of rows of `H[b]` at `positions`. */
export function meanOf(Hb: number[][], positions: readonly number[]): number[] {
  const d = Hb[0]!.length;
  const out = new Array<number>(d).fill(0);
  for (const t of positions) for (let k = 0; k < d; k++) out[k]! += Hb[t]![k]! / positions.length;
  return out;
}

/** Max |a − b| over two nested arrays of equal shape. */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    return a.reduce((m: number, v, i) => Math.max(m, maxAbsDiff(v, b[i])), 0);
  }
  return Math.abs((a as number) - (b as number));
}

/** `relu(x·W1 + b1)·W2 + b2` for one row, the straightforward way. */
export function mlp(x: number[], w1: number[][], b1: number[], w2: number[][], b2: number[]): number[] {
  const h = b1.map((bias, j) => Math.max(0, x.reduce((s, xi, i) => s + xi * w1[i]![j]!, bias)));
  return b2.map((bias, j) => h.reduce((s, hi, i) => s + hi * w2[i]![j]!, bias));
}
