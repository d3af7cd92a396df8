import * as tf from '@tensorflow/tfjs';
import { sizeOf, type KernelArgs, type TensorInfo, type WasmBackendLike } from './wasmHeap.js';
import { WASM_COMPARE_CODES, wasmKernelsFor } from './flowSegWasmKernels.js';

type BinaryKernel = (args: KernelArgs<Record<string, never>>) => TensorInfo;

/** Comparison and logical kernels this module replaces. */
export const BROADCAST_COMPARE_OPS = [
  'Less',
  'LessEqual',
  'Greater',
  'GreaterEqual',
  'Equal',
  'NotEqual',
  'LogicalAnd',
  'LogicalOr',
] as const;

type CompareOp = (typeof BROADCAST_COMPARE_OPS)[number];

/** Core's wasm comparison code of each op that has one (float32 operands; logical ops stay in JS). */
const WASM_CODES: Readonly<Partial<Record<CompareOp, number>>> = WASM_COMPARE_CODES;

/** The op with its operands swapped (`a < b` ⟺ `b > a`). */
const MIRRORED: Readonly<Record<CompareOp, CompareOp>> = {
  Less: 'Greater',
  LessEqual: 'GreaterEqual',
  Greater: 'Less',
  GreaterEqual: 'LessEqual',
  Equal: 'Equal',
  NotEqual: 'NotEqual',
  LogicalAnd: 'LogicalAnd',
  LogicalOr: 'LogicalOr',
};

/**
 * `out[o + i] = op(a[pa + i·sa], b[pb + i·sb])` as 0/1 for `i < n` (bools arrive as 0/1). One
 * loop per op, each with the comparison inline; a `b` that stays fixed along the row
 * (`sb = 0`) is read once. Callers pass the moving operand as `a` (see {@link MIRRORED}).
 */
function compareRow(
  op: CompareOp,
  out: Uint8Array,
  o: number,
  a: ArrayLike<number>,
  pa: number,
  sa: number,
  b: ArrayLike<number>,
  pb: number,
  sb: number,
  n: number,
): void {
  const end = o + n;
  const bv = b[pb]!;
  switch (op) {
    case 'Less':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! < bv ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! < b[pb]! ? 1 : 0;
      return;
    case 'LessEqual':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! <= bv ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! <= b[pb]! ? 1 : 0;
      return;
    case 'Greater':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! > bv ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! > b[pb]! ? 1 : 0;
      return;
    case 'GreaterEqual':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! >= bv ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! >= b[pb]! ? 1 : 0;
      return;
    case 'Equal':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! === bv ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! === b[pb]! ? 1 : 0;
      return;
    case 'NotEqual':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! !== bv ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! !== b[pb]! ? 1 : 0;
      return;
    case 'LogicalAnd':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! !== 0 && bv !== 0 ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! !== 0 && b[pb]! !== 0 ? 1 : 0;
      return;
    case 'LogicalOr':
      if (sb === 0) for (; o < end; o++, pa += sa) out[o] = a[pa]! !== 0 || bv !== 0 ? 1 : 0;
      else for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! !== 0 || b[pb]! !== 0 ? 1 : 0;
      return;
  }
}

/** A typed view of `info`'s elements on the heap (float32, int32 or bool). */
function elements(backend: WasmBackendLike, info: TensorInfo): ArrayLike<number> | null {
  const offset = backend.dataIdMap.get(info.dataId).memoryOffset;
  const n = sizeOf(info.shape);
  switch (info.dtype) {
    case 'float32':
      return backend.wasm.HEAPF32.subarray(offset >>> 2, (offset >>> 2) + n);
    case 'int32':
      return backend.wasm.HEAP32.subarray(offset >>> 2, (offset >>> 2) + n);
    case 'bool':
      return backend.wasm.HEAPU8.subarray(offset, offset + n);
    default:
      return null;
  }
}

/** Both operands' element strides per axis of the broadcast output shape, as few and long loops as possible. */
function broadcastLoops(outShape: number[], aShape: readonly number[], bShape: readonly number[]) {
  const rank = outShape.length;
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aShape), pad(bShape)];
  const strides = (p: number[]) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      st[d] = p[d] === 1 ? 0 : acc;
      acc *= p[d]!;
    }
    return st;
  };
  const [sa, sb] = [strides(pa), strides(pb)];
  // Axes of size 1 contribute nothing; adjacent axes merge (from the inside out) when both
  // operands step through them contiguously.
  const merged: Array<{ size: number; a: number; b: number }> = [];
  for (let d = rank - 1; d >= 0; d--) {
    const size = outShape[d]!;
    if (size === 1) continue;
    const inner = merged[0];
    if (inner && sa[d] === inner.a * inner.size && sb[d] === inner.b * inner.size) {
      merged[0] = { size: inner.size * size, a: inner.a, b: inner.b };
    } else merged.unshift({ size, a: sa[d]!, b: sb[d]! });
  }
  return merged.length > 0 ? merged : [{ size: 1, a: 0, b: 0 }];
}

/**
 * Replacement for wasm's comparison and logical kernels (`Less`, `Greater`, `Equal`,
 * `LogicalAnd`, … — see {@link BROADCAST_COMPARE_OPS}). tfjs-backend-wasm runs them with
 * broadcasting through a generic C++ path that recomputes every element's coordinates
 * (~85 ns per element on one core: a `[1, 200, 128, 128] > [1, 200, 128, 1]` comparison took
 * 270 ms); this kernel walks both operands with per-axis strides. Float32 comparisons run each
 * row in core's wasm kernels where they load (see `wasmKernelsFor`; 16 elements per SIMD step
 * when the moving operand is contiguous), including same-shape and scalar operands (the stock
 * kernel takes ~4 ns per element there, e.g. attention masks' `logits < 0`). Otherwise rows run
 * in JS (3–8 ns per element), and same-shape and scalar operands and other dtypes go to the
 * stock kernel unchanged. Results are identical: the rules are exact comparisons and boolean logic.
 */
export function makeBroadcastCompare(kernelName: CompareOp, original: BinaryKernel): BinaryKernel {
  const mirrored = MIRRORED[kernelName];
  const code = WASM_CODES[kernelName];
  const mirroredCode = WASM_CODES[mirrored];
  const kernel: BinaryKernel = (args) => {
    const { backend } = args;
    const a = args.inputs['a']!;
    const b = args.inputs['b']!;
    // Comparisons mirror to comparisons, so both codes exist or neither does (logical ops).
    const kernels = code !== undefined && a.dtype === 'float32' && b.dtype === 'float32' ? wasmKernelsFor(backend) : null;
    if (!kernels && (tf.util.arraysEqual(a.shape, b.shape) || sizeOf(a.shape) === 1 || sizeOf(b.shape) === 1 || a.dtype !== b.dtype)) {
      return original(args);
    }
    if (a.dtype !== 'float32' && a.dtype !== 'int32' && a.dtype !== 'bool') return original(args);
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = backend.makeOutput(outShape, 'bool');
    const total = sizeOf(outShape);
    if (total === 0) return out;
    const at = (info: TensorInfo) => backend.dataIdMap.get(info.dataId).memoryOffset;
    const [pa, pb, po] = [at(a), at(b), at(out)];
    // Views after makeOutput: an allocation may grow (and detach) the heap.
    const va = kernels ? null : elements(backend, a)!;
    const vb = kernels ? null : elements(backend, b)!;
    const vo = kernels ? null : backend.wasm.HEAPU8.subarray(po, po + total);
    const loops = broadcastLoops(outShape, a.shape, b.shape);
    const inner = loops[loops.length - 1]!;
    const outer = loops.slice(0, -1);
    const counter = new Array<number>(outer.length).fill(0);
    let ia = 0;
    let ib = 0;
    for (let o = 0; o < total; o += inner.size) {
      const swap = inner.a === 0 && inner.b !== 0;
      if (kernels) {
        // Byte offsets: float32 elements are 4 bytes, bool outputs 1.
        if (swap) kernels.compareF32(mirroredCode!, po + o, pb + 4 * ib, inner.b, pa + 4 * ia, 0, inner.size);
        else kernels.compareF32(code!, po + o, pa + 4 * ia, inner.a, pb + 4 * ib, inner.b, inner.size);
      } else if (swap) compareRow(mirrored, vo!, o, vb!, ib, inner.b, va!, ia, 0, inner.size);
      else compareRow(kernelName, vo!, o, va!, ia, inner.a, vb!, ib, inner.b, inner.size);
      // Odometer over the outer axes.
      for (let d = outer.length - 1; d >= 0; d--) {
        const ax = outer[d]!;
        ia += ax.a;
        ib += ax.b;
        if (++counter[d]! < ax.size) break;
        counter[d] = 0;
        ia -= ax.a * ax.size;
        ib -= ax.b * ax.size;
      }
    }
    return out;
  };
  Object.defineProperty(kernel, 'name', { value: `broadcast${kernelName}` });
  return kernel;
}
