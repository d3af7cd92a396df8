import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, WASM_KERNEL_PATCHES } from '@flowseg/core';
import { randomTensor } from './support/reference.js';
import { cheaperSwapped } from '../src/backend/wasm/fastBatchMatMul.js';
import { sizeOf } from '../src/backend/wasm/wasmHeap.js';

interface Result {
  shape: number[];
  data: number[];
}

let seedCounter = 1;

/** Seeded float32 tensor on the current backend. */
function seeded(shape: number[], seed = seedCounter++): tf.Tensor {
  return randomTensor(shape, seed);
}

/** Run `build` on cpu, then on wasm (inputs made inside `build`), and return both results. */
async function onBothBackends(build: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Result[]; wasm: Result[] }> {
  const out: Record<'cpu' | 'wasm', Result[]> = { cpu: [], wasm: [] };
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const start = seedCounter;
    const r = tf.tidy(build);
    seedCounter = start; // same inputs on the second backend
    const list = Array.isArray(r) ? r : [r];
    out[backend] = list.map((t) => ({ shape: t.shape, data: [...t.dataSync()] }));
    tf.dispose(list);
  }
  seedCounter += 100;
  await tf.setBackend('wasm');
  return out;
}

function expectClose(wasm: Result[], cpu: Result[], label: string): void {
  expect(wasm.length, label).toBe(cpu.length);
  wasm.forEach((w, i) => {
    const c = cpu[i]!;
    expect(w.shape, `${label} #${i} shape`).toEqual(c.shape);
    let worst = 0;
    for (let j = 0; j < c.data.length; j++) {
      const err = Math.abs(w.data[j]! - c.data[j]!) / (1e-1 + Math.abs(c.data[j]!));
      worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
    }
    expect(worst, `${label} #${i} worst relative error`).toBeLessThan(1e-4);
  });
}

async function expectSameAsCpu(label: string, build: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const { cpu, wasm } = await onBothBackends(build);
  expectClose(wasm, cpu, label);
}

/** `a [...outerA, m|k, k|m] × b [...outerB, k|n, n|k]` with the given transpose flags. */
function matMulCase(outerA: number[], outerB: number[], m: number, k: number, n: number, ta: boolean, tb: boolean) {
  return () => {
    const a = seeded([...outerA, ...(ta ? [k, m] : [m, k])]);
    const b = seeded([...outerB, ...(tb ? [n, k] : [k, n])]);
    return tf.matMul(a, b, ta, tb);
  };
}

const FLAGS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('FlowSeg wasm kernels are installed', () => {
  it('replaces BatchMatMul and registers the missing training kernels on wasm only', () => {
    expect([...WASM_KERNEL_PATCHES]).toEqual([
      'BatchMatMul',
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'UnsortedSegmentSum',
      'GatherV2',
      'Transpose',
      'Less',
      'LessEqual',
      'Greater',
      'GreaterEqual',
      'Equal',
      'NotEqual',
      'LogicalAnd',
      'LogicalOr',
      'FlowSegFusedLayerNorm',
      'FlowSegFusedAddLayerNorm',
    ]);
    expect(tf.getKernel('FlowSegFusedLayerNorm', 'wasm')!.kernelFunc.name).toBe('fusedLayerNormWasm');
    expect(tf.getKernel('FlowSegFusedAddLayerNorm', 'wasm')!.kernelFunc.name).toBe('fusedLayerNormWasm');
    expect(tf.getKernel('FlowSegFusedLayerNorm', 'cpu')).toBeUndefined();
    expect(tf.getKernel('GatherV2', 'wasm')!.kernelFunc.name).toBe('fastGatherV2');
    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc.name).toBe('fastBatchMatMul');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')!.kernelFunc.name).toBe('conv2DBackpropFilter');
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc.name).toBe('conv2DBackpropInput');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')!.kernelFunc.name).toBe('unsortedSegmentSum');
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc.name).not.toBe('fastBatchMatMul');
  });
});

describe('BatchMatMul on wasm equals cpu', () => {
  for (const [ta, tb] of FLAGS) {
    const flags = `transposeA=${ta} transposeB=${tb}`;
    it(`2-D, 3-D and 4-D, ${flags}`, async () => {
      await expectSameAsCpu(`2-D ${flags}`, matMulCase([], [], 5, 7, 3, ta, tb));
      await expectSameAsCpu(`3-D ${flags}`, matMulCase([3], [3], 5, 7, 4, ta, tb));
      await expectSameAsCpu(`4-D ${flags}`, matMulCase([2, 3], [2, 3], 4, 6, 5, ta, tb));
      await expectSameAsCpu(`wide ${flags}`, matMulCase([2], [2], 33, 65, 40, ta, tb)); // crosses the 32-wide transpose tiles
      await expectSameAsCpu(`tiles ${flags}`, matMulCase([2], [2], 70, 130, 66, ta, tb)); // crosses the 64-wide transpose tiles on both axes
    });

    it(`broadcasting a batch of 1 against G on either side, ${flags}`, async () => {
      await expectSameAsCpu(`[1]×[3] ${flags}`, matMulCase([1], [3], 5, 7, 4, ta, tb));
      await expectSameAsCpu(`[3]×[1] ${flags}`, matMulCase([3], [1], 5, 7, 4, ta, tb));
      await expectSameAsCpu(`[3]×2-D ${flags}`, matMulCase([3], [], 5, 7, 4, ta, tb));
      await expectSameAsCpu(`2-D×[3] ${flags}`, matMulCase([], [3], 5, 7, 4, ta, tb));
      await expectSameAsCpu(`[2,3]×[1,1] ${flags}`, matMulCase([2, 3], [1, 1], 4, 6, 5, ta, tb));
      await expectSameAsCpu(`[1,1]×[2,3] ${flags}`, matMulCase([1, 1], [2, 3], 4, 6, 5, ta, tb));
    });

    it(`zero-size dimensions, ${flags}`, async () => {
      await expectSameAsCpu(`m=0 ${flags}`, matMulCase([2], [2], 0, 3, 4, ta, tb));
      await expectSameAsCpu(`n=0 ${flags}`, matMulCase([2], [2], 3, 4, 0, ta, tb));
      await expectSameAsCpu(`k=0 ${flags}`, matMulCase([2], [2], 3, 0, 4, ta, tb));
      await expectSameAsCpu(`batch=0 ${flags}`, matMulCase([0], [0], 3, 4, 5, ta, tb));
    });
  }

  it('a fresh, wide right-hand side runs as (bᵀ·aᵀ)ᵀ: equals cpu, then on the cached-packing path, no data ids left', async () => {
    // [G·M, K]·[K, N] with N ≫ M (mask logits; a few attention rows times the values).
    const shapes: Array<[number[], number, number, number]> = [
      [[], 5, 7, 300],
      [[3], 16, 40, 257],
      [[1], 32, 200, 256],
    ];
    for (const [outer, m, k, n] of shapes) expect(cheaperSwapped(sizeOf(outer) * m, k, n), `[${outer}] ${m}×${k}×${n}`).toBe(true);
    expect(cheaperSwapped(200, 256, 32)).toBe(false); // a narrow right-hand side: packing it is cheap
    expect(cheaperSwapped(256, 256, 32)).toBe(false);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    for (const [outer, m, k, n] of shapes) {
      const label = `[${outer}] ${m}×${k}×${n}`;
      const dataIds = backend.numDataIds();
      const build = () => tf.matMul(seeded([...outer, m, k], 900), seeded([k, n], 901)); // b new to XNNPACK: swapped
      const { cpu, wasm } = await onBothBackends(build);
      expectClose(wasm, cpu, `swapped ${label}`);
      const [a, b] = [seeded([...outer, m, k], 900), seeded([k, n], 901)];
      tf.matMul(a, b).dispose();
      const again = tf.matMul(a, b); // b seen: XNNPACK's cached packing
      expectClose([{ shape: again.shape, data: [...again.dataSync()] }], cpu, `cached ${label}`);
      tf.dispose([a, b, again]);
      expect(backend.numDataIds(), `data ids ${label}`).toBe(dataIds);
    }
  });

  it('products above the stock-kernel threshold, run in place through heap views: equal cpu, no data ids left', async () => {
    // 40·48·64 multiply-adds per product: the per-matrix XNNPACK path, every flag and broadcast.
    // (Full broadcasting, [2, 1] × [1, 3], is checked by hand below: cpu computes only 3 products.)
    const cases: Array<[number[], number[]]> = [[[3], [3]], [[1], [3]], [[3], [1]], [[3], []]];
    for (const [ta, tb] of FLAGS) {
      for (const [outerA, outerB] of cases) {
        await expectSameAsCpu(`[${outerA}]×[${outerB}] transposeA=${ta} transposeB=${tb}`, matMulCase(outerA, outerB, 40, 48, 64, ta, tb));
      }
    }
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const dataIds = backend.numDataIds();
    tf.dispose(tf.tidy(() => FLAGS.map(([ta, tb]) => matMulCase([2, 1], [1, 3], 40, 48, 64, ta, tb)())));
    expect(backend.numDataIds()).toBe(dataIds);
  });

  it('gradients of a batched, transposed product (the attention pattern)', async () => {
    await expectSameAsCpu('attention grads', () => {
      const q = seeded([2, 3, 6, 4]);
      const k = seeded([2, 3, 5, 4]);
      const dy = seeded([2, 3, 6, 5]);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, false, true))([q, k], dy);
    });
  });
});

describe('conv2d gradients on wasm equal cpu', () => {
  const cases: { stride: number; pad: 'same' | 'valid'; kernel: number }[] = [];
  for (const stride of [1, 2]) for (const pad of ['same', 'valid'] as const) for (const kernel of [1, 3, 5]) cases.push({ stride, pad, kernel });

  for (const { stride, pad, kernel } of cases) {
    it(`stride ${stride}, ${pad}, kernel ${kernel}×${kernel}, non-square input`, async () => {
      await expectSameAsCpu(`conv2d s${stride} ${pad} k${kernel}`, () => {
        const x = seeded([2, 7, 9, 3]);
        const w = seeded([kernel, kernel, 3, 4]);
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
        const dy = seeded(y.shape);
        // dx comes from Conv2DBackpropInput, dw from Conv2DBackpropFilter.
        return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad))([x, w], dy);
      });
    });
  }

  it('non-square kernel and unequal strides; conv2dTranspose (Conv2DBackpropInput directly)', async () => {
    await expectSameAsCpu('conv2d [2,3] kernel, strides [2,1]', () => {
      const x = seeded([1, 8, 6, 2]);
      const w = seeded([2, 3, 2, 5]);
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], 'same');
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 1], 'same'))([x, w], seeded(y.shape));
    });
    await expectSameAsCpu('conv2dTranspose', () => tf.conv2dTranspose(seeded([2, 4, 5, 3]) as tf.Tensor4D, seeded([3, 3, 2, 3]) as tf.Tensor4D, [2, 8, 10, 2], 2, 'same'));
  });
});

describe('UnsortedSegmentSum on wasm equals cpu', () => {
  it('through the gradient of tf.gather, with repeated indices, on axis 0 and 1', async () => {
    await expectSameAsCpu('gather axis 0', () => {
      const x = seeded([6, 4]);
      const idx = tf.tensor1d([0, 2, 2, 5, 0, 0, 1], 'int32');
      return tf.grads((t: tf.Tensor) => tf.gather(t, idx))([x], seeded([7, 4]));
    });
    await expectSameAsCpu('gather axis 1, 2-D indices', () => {
      const x = seeded([3, 6, 2]);
      const idx = tf.tensor2d([[5, 5], [1, 5]], [2, 2], 'int32');
      return tf.grads((t: tf.Tensor) => tf.gather(t, idx, 1))([x], seeded([3, 2, 2, 2]));
    });
  });

  it('direct calls, including segments that receive nothing', async () => {
    await expectSameAsCpu('unsortedSegmentSum', () => {
      const x = seeded([5, 3]);
      return tf.unsortedSegmentSum(x, tf.tensor1d([3, 0, 3, 3, 1], 'int32'), 6);
    });
  });
});

describe('wasm kernels leak nothing', () => {
  it('tensor count and wasm heap allocations return to their start after disposing outputs', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const run = () => {
      const outs: tf.Tensor[] = [];
      for (const [ta, tb] of FLAGS) {
        outs.push(matMulCase([3], [3], 5, 7, 4, ta, tb)(), matMulCase([1], [3], 5, 7, 4, ta, tb)(), matMulCase([3], [], 5, 7, 4, ta, tb)());
      }
      outs.push(
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))([seeded([1, 7, 9, 3]), seeded([3, 3, 3, 4])], seeded([1, 4, 5, 4])),
      );
      outs.push(...tf.grads((t: tf.Tensor) => tf.gather(t, tf.tensor1d([1, 1, 0], 'int32')))([seeded([4, 2])], seeded([3, 2])));
      return outs;
    };
    tf.dispose(tf.tidy(run)); // warm-up
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    const outs = tf.tidy(run);
    expect(tf.memory().numTensors).toBe(tensors + outs.length);
    tf.dispose(outs);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
  });
});

describe('BatchMatMul with full batch broadcasting', () => {
  it.each([
    [2, 4, 5],
    [40, 48, 64], // above the stock-kernel threshold: products in place through heap views
  ])('[3,1,M,K] × [1,3,K,N] gives all 9 products (the stock kernels compute only 3), M=%i K=%i N=%i', async (m, k, n) => {
    await tf.setBackend('wasm');
    const a = seeded([3, 1, m, k]);
    const b = seeded([1, 3, k, n]);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const aIn = ta ? tf.transpose(a, [0, 1, 3, 2]) : a;
      const bIn = tb ? tf.transpose(b, [0, 1, 3, 2]) : b;
      const out = tf.matMul(aIn, bIn, ta, tb);
      expect(out.shape).toEqual([3, 3, m, n]);
      const got = out.dataSync();
      const av = a.dataSync();
      const bv = b.dataSync();
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          for (let r = 0; r < m; r++) {
            for (let c = 0; c < n; c++) {
              let want = 0;
              for (let t = 0; t < k; t++) want += av[(i * m + r) * k + t]! * bv[(j * k + t) * n + c]!;
              expect(got[((i * 3 + j) * m + r) * n + c]).toBeCloseTo(want, 3);
            }
          }
        }
      }
      tf.dispose([out, ...(ta ? [aIn] : []), ...(tb ? [bIn] : [])]);
    }
    tf.dispose([a, b]);
  });
});

describe('GatherV2 (block copies on wasm)', () => {
  it('equals the cpu backend for every axis, repeated indices and int32 data', async () => {
    await expectSameAsCpu('gather axis 0', () => tf.gather(seeded([5, 3, 4]), tf.tensor1d([4, 0, 4, 2], 'int32'), 0));
    await expectSameAsCpu('gather axis 1', () => tf.gather(seeded([2, 6, 3]), tf.tensor2d([[1, 5], [0, 1]], [2, 2], 'int32'), 1));
    await expectSameAsCpu('gather axis 2 (small slices)', () => tf.gather(seeded([2, 3, 7]), tf.tensor1d([6, 6, 0], 'int32'), 2));
    await expectSameAsCpu('gather int32', () => tf.cast(tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 0], 'int32')), 'float32'));
    await tf.setBackend('wasm');
    const x = tf.ones([3, 2]);
    expect(() => tf.gather(x, tf.tensor1d([3], 'int32'))).toThrow(/not in \[0, 2\]/);
    x.dispose();
  });
});
