import { heapIndex, type KernelArgs, type TensorInfo } from './wasmHeap.js';
import { wasmKernelsFor } from './flowSegWasmKernels.js';

type TransposeKernel = (args: KernelArgs<{ perm: number[] }>) => TensorInfo;

/** Without core's wasm kernels: below this many elements per matrix the stock kernel is as fast as a JS loop. */
const MIN_ELEMENTS = 65536;

/** Side of the square tiles (64×64 4-byte elements: 16 KiB, within L1 on both sides). */
const TILE = 64;

/**
 * `shape`/`perm` with size-1 axes dropped and runs of axes that stay adjacent (in order)
 * under `perm` merged, e.g. `[1, 16384, 256]` with `[0, 2, 1]` → `[16384, 256]` with `[1, 0]`.
 */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  // Groups of consecutive input axes, in output order.
  const groups: number[][] = [];
  for (const axis of kept) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1]! + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const byInputOrder = [...groups].sort((a, b) => a[0]! - b[0]!);
  return {
    shape: byInputOrder.map((g) => g.reduce((s, axis) => s * shape[axis]!, 1)),
    perm: groups.map((g) => byInputOrder.indexOf(g)),
  };
}

/** A permutation as `batch` matrices `rows × cols` of `inner`-element chunks, transposed. */
interface MatrixTranspose {
  batch: number;
  rows: number;
  cols: number;
  inner: number;
}

/**
 * The collapsed permutation as a (batched) matrix transpose, moving chunks of `inner`
 * elements: `[R, C]`·`[1, 0]`, `[B, R, C]`·`[0, 2, 1]`, `[R, C, I]`·`[1, 0, 2]` or
 * `[B, R, C, I]`·`[0, 2, 1, 3]` (attention's head split and merge); `null` for anything else.
 */
export function asMatrixTranspose(c: { shape: number[]; perm: number[] }): MatrixTranspose | null {
  const key = c.perm.join(',');
  const [s0, s1, s2, s3] = c.shape as [number, number, number, number];
  if (key === '1,0') return { batch: 1, rows: s0, cols: s1, inner: 1 };
  if (key === '0,2,1') return { batch: s0, rows: s1, cols: s2, inner: 1 };
  if (key === '1,0,2') return { batch: 1, rows: s0, cols: s1, inner: s2 };
  if (key === '0,2,1,3') return { batch: s0, rows: s1, cols: s2, inner: s3 };
  return null;
}

/**
 * Replacement for wasm's `Transpose` when the permutation amounts to transposing (a batch
 * of) matrices, of elements or of contiguous chunks: Mask2Former's `[B, H·W, C] → [B, C, H·W]`
 * mask features, attention's `[B, N, h, d] → [B, h, N, d]` head split. The stock kernel walks
 * the output with a large power-of-two input stride, which thrashes the cache (18 ns per
 * element for `[16384, 256]`), and pays per element for index arithmetic. Where core's wasm
 * kernels run (see `wasmKernelsFor`) every such transpose goes to them (4×4 SIMD blocks in
 * rectangular tiles, ~0.1–0.3 ns per element); otherwise large element transposes copy
 * 64×64 tiles in JS (~3 ns). 4-byte dtypes are moved as raw bits. Every other permutation,
 * dtype or (without wasm kernels) small size goes to the stock kernel.
 */
export function makeBlockedTranspose(original: TransposeKernel): TransposeKernel {
  return function blockedTranspose(args) {
    const { backend } = args;
    const x = args.inputs['x']!;
    // Stock wasm Transpose traps ("RuntimeError: divide by zero") on an empty tensor whose
    // leading axis is 0 ([0, h, n, d] → [0, n, h, d], e.g. attention over an empty batch):
    // an empty result needs no copying at all.
    if (x.shape.some((d) => d === 0)) {
      return backend.makeOutput(args.attrs.perm.map((axis) => x.shape[axis]!), x.dtype);
    }
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return original(args);
    const plan = asMatrixTranspose(collapsePermutation(x.shape, args.attrs.perm));
    if (!plan) return original(args);
    const { batch, rows, cols, inner } = plan;
    const kernels = wasmKernelsFor(backend);
    if (!kernels && (inner !== 1 || rows * cols < MIN_ELEMENTS)) return original(args);
    const out = backend.makeOutput(
      args.attrs.perm.map((axis) => x.shape[axis]!),
      x.dtype,
    );
    if (kernels) {
      const src = backend.dataIdMap.get(x.dataId).memoryOffset;
      const dst = backend.dataIdMap.get(out.dataId).memoryOffset;
      if (inner === 1) kernels.transposeWords(src, dst, batch, rows, cols);
      else kernels.transposeChunks(src, dst, batch, rows, cols, inner);
      return out;
    }
    // Views after makeOutput: an allocation may grow (and detach) the heap.
    const heap = backend.wasm.HEAP32;
    const from = heapIndex(backend, x);
    const to = heapIndex(backend, out);
    const size = rows * cols;
    for (let g = 0; g < batch; g++) {
      const src = from + g * size;
      const dst = to + g * size;
      for (let r0 = 0; r0 < rows; r0 += TILE) {
        const r1 = Math.min(r0 + TILE, rows);
        for (let c0 = 0; c0 < cols; c0 += TILE) {
          const c1 = Math.min(c0 + TILE, cols);
          // Output rows are written contiguously; the strided reads stay within the tile.
          for (let col = c0; col < c1; col++) {
            const outAt = dst + col * rows;
            for (let r = r0; r < r1; r++) heap[outAt + r] = heap[src + r * cols + col]!;
          }
        }
      }
    }
    return out;
  };
}
