import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { seededRandom } from './support/reference.js';
import { setWasmKernelsEnabled } from '../src/backend/wasm/flowSegWasmKernels.js';

/**
 * The broadcasting comparison and logical kernels that core installs on wasm, against the
 * cpu backend's stock kernels (exact equality: comparisons and boolean logic are exact), with
 * float32 rows in core's wasm kernels and, with those turned off, in JS.
 */

type Dtype = 'float32' | 'int32' | 'bool';

/** Seeded values of a dtype; integers are small so that ties (Equal, LessEqual) occur. */
function values(shape: number[], dtype: Dtype, seed: number): number[] {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => {
    const r = rand();
    return dtype === 'float32' ? Math.round((r * 2 - 1) * 4) / 2 : dtype === 'int32' ? Math.floor(r * 5) - 2 : r < 0.5 ? 0 : 1;
  });
}

/** `build` run with the same inputs on cpu and wasm; returns both outputs' shape and values. */
async function onBoth(build: () => tf.Tensor): Promise<Record<'cpu' | 'wasm', { shape: number[]; data: number[]; dtype: string }>> {
  const out = {} as Record<'cpu' | 'wasm', { shape: number[]; data: number[]; dtype: string }>;
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const t = tf.tidy(build);
    out[backend] = { shape: t.shape, data: [...t.dataSync()], dtype: t.dtype };
    t.dispose();
  }
  await tf.setBackend('wasm');
  return out;
}

const OPS = {
  Less: tf.less,
  LessEqual: tf.lessEqual,
  Greater: tf.greater,
  GreaterEqual: tf.greaterEqual,
  Equal: tf.equal,
  NotEqual: tf.notEqual,
  LogicalAnd: tf.logicalAnd,
  LogicalOr: tf.logicalOr,
} as const;

const BROADCASTS: Array<[number[], number[]]> = [
  [[1, 7, 13], [1, 7, 1]], // the masked-attention pattern: per-row flag
  [[2, 3, 4, 5], [2, 1, 1, 5]], // key padding over heads and queries
  [[3, 1, 5], [1, 4, 1]], // both sides broadcast
  [[6, 5], [5]], // lower rank
  [[2, 1, 3, 1], [2, 4, 1, 6]], // alternating
  [[4, 0, 3], [4, 1, 3]], // empty
  [[3, 37], [3, 1]], // rows long enough for 16-wide SIMD steps plus a tail, fixed right side
  [[2, 5, 35], [1, 5, 35]], // contiguous on both sides, batch broadcast
];

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

for (const kernels of [true, false]) {
  describe(`wasm comparison and logical kernels with broadcasting (${kernels ? "core's wasm kernels" : 'JS rows'})`, () => {
    beforeAll(() => setWasmKernelsEnabled(kernels));
    afterAll(() => setWasmKernelsEnabled(true));

    it('are installed on wasm only', () => {
      for (const name of Object.keys(OPS)) {
        expect(tf.getKernel(name, 'wasm')!.kernelFunc.name).toBe(`broadcast${name}`);
        expect(tf.getKernel(name, 'cpu')!.kernelFunc.name).not.toBe(`broadcast${name}`);
      }
    });

    for (const [name, op] of Object.entries(OPS)) {
      const logical = name.startsWith('Logical');
      const dtypes: Dtype[] = logical ? ['bool'] : ['float32', 'int32', 'bool'];
      it(`${name} equals cpu for every broadcast pattern and dtype`, async () => {
        let seed = 1;
        for (const dtype of dtypes) {
          for (const [sa, sb] of BROADCASTS) {
            for (const [x, y] of [
              [sa, sb],
              [sb, sa],
            ] as const) {
              const va = values(x, dtype, seed++);
              const vb = values(y, dtype, seed++);
              const r = await onBoth(() => op(tf.tensor(va, x, dtype), tf.tensor(vb, y, dtype)));
              const label = `${name} ${dtype} [${x}] vs [${y}]`;
              expect(r.wasm.dtype, label).toBe('bool');
              expect(r.wasm.shape, label).toEqual(r.cpu.shape);
              expect(r.wasm.data, label).toEqual(r.cpu.data);
            }
          }
        }
      });
    }

    it('compares NaN like IEEE (false except NotEqual)', async () => {
      for (const [name, op] of Object.entries(OPS).filter(([n]) => !n.startsWith('Logical'))) {
        const r = await onBoth(() => op(tf.tensor([[NaN, 1], [0, NaN]]), tf.tensor([NaN, 1])));
        expect(r.wasm.data, name).toEqual(r.cpu.data);
      }
    });

    it('compares NaN like IEEE in 16-wide steps too', async () => {
      const a = Array.from({ length: 40 }, (_, i) => (i % 7 === 0 ? NaN : (i % 5) - 2));
      const b = Array.from({ length: 40 }, (_, i) => (i % 11 === 0 ? NaN : (i % 3) - 1));
      for (const [name, op] of Object.entries(OPS).filter(([n]) => !n.startsWith('Logical'))) {
        const same = await onBoth(() => op(tf.tensor(a, [2, 20]), tf.tensor(b, [2, 20])));
        expect(same.wasm.data, `${name} same shape`).toEqual(same.cpu.data);
        const fixed = await onBoth(() => op(tf.tensor(a, [40]), tf.scalar(0)));
        expect(fixed.wasm.data, `${name} scalar`).toEqual(fixed.cpu.data);
      }
    });

    it('gives same-shape and scalar operands the same results as cpu (wasm kernels, or the stock kernel)', async () => {
      const r1 = await onBoth(() => tf.less(tf.tensor(values([4, 5], 'float32', 90), [4, 5]), tf.tensor(values([4, 5], 'float32', 91), [4, 5])));
      expect(r1.wasm.data).toEqual(r1.cpu.data);
      const r2 = await onBoth(() => tf.greater(tf.tensor(values([4, 5], 'float32', 92), [4, 5]), 0));
      expect(r2.wasm.data).toEqual(r2.cpu.data);
      const r3 = await onBoth(() => tf.lessEqual(tf.scalar(0.5), tf.tensor(values([3, 19], 'float32', 93), [3, 19])));
      expect(r3.wasm.data).toEqual(r3.cpu.data);
    });
  });
}
