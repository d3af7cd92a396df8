import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { selectBackend } from '@flowseg/core';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

/** Reference transpose in plain JS (row-major). */
function transposeRef(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rest = o;
    for (let i = outShape.length - 1; i >= 0; i--) {
      idx[i] = rest % outShape[i]!;
      rest = Math.floor(rest / outShape[i]!);
    }
    out[o] = data[perm.reduce((s, p, i) => s + idx[i]! * strides[p]!, 0)]!;
  }
  return out;
}

describe('wasm kernels (with FlowSeg patches) on empty and tiny tensors', () => {
  it('transpose matches a JS reference for any shape, including 0-sized axes (stock wasm traps on a leading 0)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }), fc.constantFrom<'float32' | 'int32' | 'bool'>('float32', 'int32', 'bool')),
        ),
        ([shape, perm, dtype]) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const data = Float32Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 2 : i));
          const before = tf.memory().numTensors;
          const x = tf.tensor(data, shape, dtype);
          const y = tf.transpose(x, perm);
          expect(y.shape).toEqual(perm.map((p) => shape[p]));
          expect(Array.from(y.dataSync(), Number)).toEqual(Array.from(transposeRef(data, shape, perm)));
          tf.dispose([x, y]);
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 150, seed: 3 },
    );
  });

  it('batched matMul matches a JS reference for any batch / row / inner / column size, including 0', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 2 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.boolean(),
        (outer, m, k, n, ta, tb) => {
          const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
          const aShape = [...outer, ...(ta ? [k, m] : [m, k])];
          const bShape = [...outer, ...(tb ? [n, k] : [k, n])];
          const av = Float32Array.from({ length: size(aShape) }, (_, i) => (i % 7) - 3);
          const bv = Float32Array.from({ length: size(bShape) }, (_, i) => (i % 5) - 2);
          const before = tf.memory().numTensors;
          const a = tf.tensor(av, aShape);
          const b = tf.tensor(bv, bShape);
          const y = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
          expect(y.shape).toEqual([...outer, m, n]);
          const g = size(outer);
          const want: number[] = [];
          for (let p = 0; p < g; p++) {
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                for (let t = 0; t < k; t++) {
                  s += av[p * m * k + (ta ? t * m + i : i * k + t)]! * bv[p * k * n + (tb ? j * k + t : t * n + j)]!;
                }
                want.push(s);
              }
            }
          }
          expect(Array.from(y.dataSync())).toEqual(want);
          tf.dispose([a, b, y]);
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 150, seed: 4 },
    );
  });
});
