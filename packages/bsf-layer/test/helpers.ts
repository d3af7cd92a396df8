import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { FlowSegLayer } from '@flowseg/core';
import type { Mat } from './reference.js';

/** Overwrite every weight of `layer` with seeded U(−scale, scale) values (name order). */
export function seedWeights(layer: FlowSegLayer, seed: number, scale = 0.5): void {
  let i = 0;
  for (const v of layer.namedWeights().values()) {
    tf.tidy(() => {
      v.write(tf.randomUniform(v.shape as number[], -scale, scale, 'float32', seed + 7919 * i++));
    });
  }
}

/** Copy weights by name from one layer to another (`fromPrefix` stripped, every target weight required). */
export function copyWeights(from: FlowSegLayer, to: FlowSegLayer, fromPrefix = ''): void {
  const src = from.namedWeights();
  for (const [name, v] of to.namedWeights()) {
    const w = src.get(fromPrefix + name);
    if (!w) throw new Error(`no source weight ${fromPrefix + name}`);
    v.write(w.read());
  }
}

/** Seeded U(−1, 1) float32 tensor. */
export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Nested arrays of a 3-D tensor, per batch item. */
export function items(t: tf.Tensor): Mat[] {
  return t.arraySync() as Mat[];
}

/** Largest |a − b| over two nested arrays of equal shape. */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length).toBe(b.length);
    return a.reduce((m: number, x, i) => Math.max(m, maxAbsDiff(x, b[i])), 0);
  }
  return Math.abs((a as number) - (b as number));
}

/** Assert a tensor equals nested reference values within `tol` (and contains no NaN). */
export function expectClose(actual: tf.Tensor | unknown, expected: unknown, tol = 1e-5): void {
  const a = actual instanceof tf.Tensor ? actual.arraySync() : actual;
  const d = maxAbsDiff(a, expected);
  expect(Number.isNaN(d)).toBe(false);
  expect(d).toBeLessThanOrEqual(tol);
}

/** Float32 condition mask `[batch, conditions]` from per-item counts of real rows (real rows first). */
export function maskFromCounts(counts: number[], t: number): tf.Tensor2D {
  return tf.tensor2d(counts.map((c) => Array.from({ length: t }, (_, j) => (j < c ? 1 : 0))));
}

/** The same mask as booleans per item. */
export function validFromCounts(counts: number[], t: number): boolean[][] {
  return counts.map((c) => Array.from({ length: t }, (_, j) => j < c));
}
