import * as tf from '@tensorflow/tfjs';
import { heapF32, heapIndex, heapView, reshaped, sizeOf, type HeapView, type KernelArgs, type TensorInfo, type WasmBackendLike } from './wasmHeap.js';
import { wasmKernelsFor } from './flowSegWasmKernels.js';

type MatMulKernel = (args: KernelArgs<{ transposeA: boolean; transposeB: boolean }>) => TensorInfo;

/** Below this many multiply-adds per matrix product, batched calls go to the stock kernel. */
const SMALL_PRODUCT_MACS = 65536;

/**
 * XNNPACK packs a product's right-hand matrix before multiplying (~4 ns per element, on one
 * thread) and caches the packing by tensor id; core's wasm transposes move ~0.25 ns per element.
 * Packing costs this many transposed elements.
 */
const PACK_PER_TRANSPOSED_ELEMENT = 16;

/** Data ids already multiplied as a right-hand side: their packing is (or will be) cached, e.g. weights. */
const packedRightOperands = new WeakSet<object>();

/**
 * Whether `a·b` (`m × k` by `k × n`, `b` never seen before) is cheaper as `(bᵀ·aᵀ)ᵀ`: packing
 * `k·m` elements of `aᵀ` plus three transposes instead of packing `k·n` of `b`. It is for a
 * fresh, wide right-hand side, e.g. mask logits `[N, C]·[C, H·W]` or a few attention rows
 * times the values.
 */
export function cheaperSwapped(m: number, k: number, n: number): boolean {
  return PACK_PER_TRANSPOSED_ELEMENT * k * n > k * n + m * k + m * n + PACK_PER_TRANSPOSED_ELEMENT * k * m;
}

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

/** wasm's `BatchMatMul` entry point, bound once per module (the stock kernel's signature). */
type RawBatchMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;
const rawEntryPoints = new WeakMap<object, RawBatchMatMul>();

function rawBatchMatMul(backend: WasmBackendLike): RawBatchMatMul {
  let fn = rawEntryPoints.get(backend.wasm);
  if (!fn) {
    const args = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];
    fn = backend.wasm.cwrap('BatchMatMul', null, args) as RawBatchMatMul;
    rawEntryPoints.set(backend.wasm, fn);
  }
  return fn;
}

/** A shape as the bytes of its int32 values (how wasm kernels receive shapes). */
function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** `x` `[..., r, c]` → a new `[..., c, r]`, by the registered wasm `Transpose` kernel. */
function transposeLastTwo(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc as unknown as (args: KernelArgs<{ perm: number[] }>) => TensorInfo;
  return transpose({ inputs: { x }, backend, attrs: { perm } });
}

/**
 * Replacement for wasm's `BatchMatMul`. XNNPACK only serves the case "batch 1 × batch 1,
 * no transpose flags"; everything else falls into a scalar loop running 10–30× slower
 * (ENVIRONMENT.md). This kernel reduces every float32 case to that fast case:
 *  - `[G, M, K] × [1, K, N]` without flags folds to one `[G·M, K] × [K, N]` product, computed
 *    as `(bᵀ·aᵀ)ᵀ` when `b` is new to XNNPACK and much wider than `a` is tall (see
 *    `cheaperSwapped`; only where core's wasm transposes run);
 *  - otherwise a flagged operand is transposed once (wasm's `Transpose`), and each of the G
 *    matrix pairs of the broadcast batch shape is multiplied on the fast path in place: the
 *    operands and the result slot are views into the heap, so nothing is copied. Full batch
 *    broadcasting (`[3,1,M,K] × [1,3,K,N]`) is supported, which the stock kernel gets wrong.
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
      const rows = batchA * m;
      const fresh = !packedRightOperands.has(b.dataId);
      packedRightOperands.add(b.dataId);
      if (fresh && cheaperSwapped(rows, k, n) && wasmKernelsFor(backend)) {
        // (a·b)ᵀ = bᵀ·aᵀ: XNNPACK packs the small aᵀ instead of the wide, fresh b.
        const bT = transposeLastTwo(backend, reshaped(b, [1, k, n]));
        const aT = transposeLastTwo(backend, reshaped(a, [1, rows, k]));
        try {
          const outT = original({ inputs: { a: bT, b: aT }, backend, attrs: { transposeA: false, transposeB: false } });
          try {
            return { ...transposeLastTwo(backend, outT), shape: outShape };
          } finally {
            backend.disposeData(outT.dataId);
          }
        } finally {
          backend.disposeData(bT.dataId);
          backend.disposeData(aT.dataId);
        }
      }
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
    // Transposed operands are transposed once, every matrix at a time, by the wasm Transpose
    // kernel: JS loops over the threaded build's shared wasm memory run ~2× slower.
    const aN = transposeA ? transposeLastTwo(backend, a) : a;
    const bN = transposeB ? transposeLastTwo(backend, b) : b;
    const out = backend.makeOutput(outShape, 'float32');
    // Each product reads its matrices and writes its result in place, through views.
    const views: HeapView[] = [];
    const view = (base: TensorInfo, offset: number, shape: number[]): number => {
      const v = heapView(backend, base, offset, shape);
      views.push(v);
      return v.id;
    };
    const matMul = rawBatchMatMul(backend);
    const aShape = shapeBytes([1, m, k]);
    const bShape = shapeBytes([1, k, n]);
    try {
      // A single left- or right-hand matrix is one view for every product (XNNPACK caches its packing by id).
      const sharedA = batchA === 1 ? view(aN, 0, [1, m, k]) : null;
      const sharedB = batchB === 1 ? view(bN, 0, [1, k, n]) : null;
      for (let g = 0; g < batch; g++) {
        const aId = sharedA ?? view(aN, indexA(g) * m * k, [1, m, k]);
        const bId = sharedB ?? view(bN, indexB(g) * k * n, [1, k, n]);
        matMul(aId, aShape, 3, bId, bShape, 3, false, false, view(out, g * m * n, [1, m, n]));
      }
    } finally {
      for (const v of views) v.release();
      if (transposeA) backend.disposeData(aN.dataId);
      if (transposeB) backend.disposeData(bN.dataId);
    }
    return out;
  };
}
