import { heapIndex, type KernelArgs, type TensorInfo } from './wasmHeap.js';

type TransposeKernel = (args: KernelArgs<{ perm: number[] }>) => TensorInfo;

/** Below this many elements per matrix the stock kernel is as fast. */
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

/**
 * Replacement for wasm's `Transpose` when the permutation amounts to transposing (a batch
 * of) large 2-D matrices, e.g. Mask2Former's `[B, H·W, C] → [B, C, H·W]` mask features. The
 * stock kernel walks the output with a large power-of-two input stride, which thrashes the
 * cache (18 ns per element for `[16384, 256]`); this one copies 64×64 tiles (~3 ns). 4-byte dtypes
 * are copied as raw bits. Every other permutation, dtype or small size goes to the stock
 * kernel.
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
    const c = collapsePermutation(x.shape, args.attrs.perm);
    let batch: number;
    if (c.shape.length === 2 && c.perm[0] === 1) batch = 1;
    else if (c.shape.length === 3 && c.perm[0] === 0 && c.perm[1] === 2) batch = c.shape[0]!;
    else return original(args);
    const rows = c.shape[c.shape.length - 2]!;
    const cols = c.shape[c.shape.length - 1]!;
    if (rows * cols < MIN_ELEMENTS) return original(args);
    const out = backend.makeOutput(
      args.attrs.perm.map((axis) => x.shape[axis]!),
      x.dtype,
    );
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
