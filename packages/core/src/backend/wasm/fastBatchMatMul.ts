import * as tf from '@tensorflow/tfjs';
import { copyMatrix, heapF32, heapIndex, reshaped, sizeOf, type KernelArgs, type TensorInfo } from './wasmHeap.js';

type MatMulKernel = (args: KernelArgs<{ transposeA: boolean; transposeB: boolean }>) => TensorInfo;

/** Below this many multiply-adds per matrix product, batched calls go to the stock kernel. */
const SMALL_PRODUCT_MACS = 65536;

/**
 * Maps a flat index over the broadcast batch shape `outer` to the flat index of the matrix
 * it reads in an operand with batch shape `src` (right-aligned; size-1 axes repeat).
 */
function broadcastIndexer(outer: readonly number[], src: readonly number[]): (g: number) => number {
  if (tf.util.arraysEqual(outer as number[], src as number[])) return (g) => g;
  const offset = outer.length - src.length;
  return (g) => {
    let rest = g;
    let index = 0;
    let stride = 1;
    for (let d = outer.length - 1; d >= 0; d--) {
      const size = outer[d]!;
      const coord = rest % size;
      rest = Math.floor(rest / size);
      const s = d - offset;
      if (s >= 0) {
        const srcSize = src[s]!;
        if (srcSize !== 1) index += coord * stride;
        stride *= srcSize;
      }
    }
    return index;
  };
}

/**
 * Replacement for wasm's `BatchMatMul`. XNNPACK only serves the case "batch 1 × batch 1,
 * no transpose flags"; everything else falls into a scalar loop running 10–30× slower
 * (ENVIRONMENT.md). This kernel reduces every float32 case to that fast case:
 *  - `[G, M, K] × [1, K, N]` without flags folds to one `[G·M, K] × [K, N]` product;
 *  - otherwise each of the G matrix pairs of the broadcast batch shape is copied out
 *    (transposed in JS when a flag asks for it), multiplied on the fast path, and copied into
 *    the output. Full batch broadcasting (`[3,1,M,K] × [1,3,K,N]`) is supported, which the
 *    stock kernel gets wrong.
 * Results are the same products, so other backends' numbers are unaffected.
 */
export function makeFastBatchMatMul(original: MatMulKernel): MatMulKernel {
  return function fastBatchMatMul(args) {
    const { inputs, backend, attrs } = args;
    const a = inputs['a']!;
    const b = inputs['b']!;
    const { transposeA, transposeB } = attrs;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = sizeOf(outerA);
    const batchB = sizeOf(outerB);
    if (m === 0 || n === 0 || batchA === 0 || batchB === 0) {
      // An empty result needs no arithmetic, and the stock kernel traps on an empty batch
      // ("RuntimeError: remainder by zero"), e.g. attention over a batch of 0 images.
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
      return backend.makeOutput([...outer, m, n], a.dtype);
    }
    if (k === 0) {
      // Sums over an empty inner axis are 0; the stock kernel leaves the output uninitialised.
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
      const out = backend.makeOutput([...outer, m, n], a.dtype);
      const at = heapIndex(backend, out);
      heapF32(backend).fill(0, at, at + sizeOf(outer) * m * n);
      return out;
    }
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const outShape = [...outer, m, n];
    if (!transposeA && !transposeB && batchB === 1) {
      // Includes the plain 2-D case: one fast product over all rows of `a`.
      const out = original({
        inputs: { a: reshaped(a, [1, batchA * m, k]), b: reshaped(b, [1, k, n]) },
        backend,
        attrs: { transposeA: false, transposeB: false },
      });
      return { ...out, shape: outShape };
    }
    const batch = sizeOf(outer);
    // Tiny products (e.g. attention over a handful of condition tokens): one call of the stock
    // kernel beats `batch` XNNPACK calls, each paying a thread-pool dispatch.
    const flat = batchA === 1 || batchB === 1 || tf.util.arraysEqual(outerA, outerB);
    if (m * k * n < SMALL_PRODUCT_MACS && flat) return original(args);
    const indexA = broadcastIndexer(outer, outerA);
    const indexB = broadcastIndexer(outer, outerB);
    const out = backend.makeOutput(outShape, 'float32');
    // A single left- or right-hand matrix is prepared once and reused (XNNPACK caches its packing).
    const copyA = (g: number) => copyMatrix(backend, a, g, transposeA ? k : m, transposeA ? m : k, transposeA);
    const copyB = (g: number) => copyMatrix(backend, b, g, transposeB ? n : k, transposeB ? k : n, transposeB);
    const sharedA = batchA === 1 ? copyA(0) : null;
    const sharedB = batchB === 1 ? copyB(0) : null;
    try {
      for (let g = 0; g < batch; g++) {
        const aG = sharedA ?? copyA(indexA(g));
        const bG = sharedB ?? copyB(indexB(g));
        const r = original({ inputs: { a: aG, b: bG }, backend, attrs: { transposeA: false, transposeB: false } });
        const heap = heapF32(backend);
        const from = heapIndex(backend, r);
        heap.copyWithin(heapIndex(backend, out) + g * m * n, from, from + m * n);
        if (!sharedA) backend.disposeData(aG.dataId);
        if (!sharedB) backend.disposeData(bG.dataId);
        backend.disposeData(r.dataId);
      }
    } finally {
      if (sharedA) backend.disposeData(sharedA.dataId);
      if (sharedB) backend.disposeData(sharedB.dataId);
    }
    return out;
  };
}
