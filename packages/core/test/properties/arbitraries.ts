import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';

/**
 * Value regimes the property tests feed into layers: ordinary values, large magnitudes
 * (±1e4, where exp/softmax overflow if written naively), and a single NaN/±Inf entry.
 */
export const VALUE_KINDS = ['normal', 'large', 'nan', 'inf', '-inf'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/** Arbitrary value regime, ordinary values most often. */
export const valueKind = (): fc.Arbitrary<ValueKind> =>
  fc.oneof({ arbitrary: fc.constant<ValueKind>('normal'), weight: 3 }, fc.constantFrom<ValueKind>(...VALUE_KINDS));

/** Whether a regime puts a non-finite value into the tensor. */
export const nonFinite = (kind: ValueKind): boolean => kind === 'nan' || kind === 'inf' || kind === '-inf';

/** Deterministic (seeded LCG) data of `shape` in the given regime and dtype. */
export function makeTensor(shape: number[], dtype: tf.DataType, kind: ValueKind, seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = (seed >>> 0) + 1;
  const scale = kind === 'large' ? 1e4 : 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  if (n > 0 && nonFinite(kind)) data[seed % n] = kind === 'nan' ? NaN : kind === 'inf' ? Infinity : -Infinity;
  if (dtype === 'bool') return tf.tensor(Array.from(data, (v) => v > 0), shape, 'bool');
  if (dtype === 'int32') return tf.tensor(Int32Array.from(data, (v) => (Number.isFinite(v) ? Math.round(v * 10) : 0)), shape, 'int32');
  return tf.tensor(data, shape, 'float32');
}

/** An axis size: usually small and positive, sometimes 0 or 1 (empty and single-element axes). */
export const axis = (max = 5): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: 1, max }), weight: 4 }, fc.constantFrom(0, 1));

/** Tensor dtypes a caller might pass by mistake; float32 most often. */
export const dtype = (): fc.Arbitrary<tf.DataType> =>
  fc.oneof({ arbitrary: fc.constant<tf.DataType>('float32'), weight: 4 }, fc.constantFrom<tf.DataType>('int32', 'bool'));

/** Either the right size or a wrong one (mismatched axes between arguments). */
export const maybeWrong = (right: number): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.constant(right), weight: 4 }, fc.integer({ min: 0, max: right + 3 }));
