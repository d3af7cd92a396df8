import * as tf from '@tensorflow/tfjs';
import { heapIndex, sizeOf, type KernelArgs, type TensorInfo } from './wasmHeap.js';

type GatherKernel = (args: KernelArgs<{ axis: number; batchDims: number }>) => TensorInfo;

/**
 * Replacement for wasm's `GatherV2` (an element-by-element C++ loop that moves only a few
 * million elements per second): for 4-byte dtypes without batch dims, each gathered slice is
 * one contiguous block, copied with `copyWithin`. Indices are checked like the stock kernel.
 * Other cases go to the stock kernel.
 */
export function makeFastGatherV2(original: GatherKernel): GatherKernel {
  return function fastGatherV2(args) {
    const { backend, attrs } = args;
    const x = args.inputs['x']!;
    const indices = args.inputs['indices']!;
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32' || (attrs.batchDims ?? 0) !== 0) {
      return original(args);
    }
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const axisDim = x.shape[axis]!;
    const outer = sizeOf(x.shape.slice(0, axis));
    const slice = sizeOf(x.shape.slice(axis + 1));
    const count = sizeOf(indices.shape);
    const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const idx = backend.wasm.HEAP32.slice(heapIndex(backend, indices), heapIndex(backend, indices) + count);
    for (let i = 0; i < count; i++) {
      const v = idx[i]!;
      if (v < 0 || v >= axisDim) throw new Error(`GatherV2: the index value ${v} is not in [0, ${axisDim - 1}]`);
    }
    const out = backend.makeOutput(outShape, x.dtype);
    if (sizeOf(outShape) === 0) return out;
    // One view type serves float32 and int32: both are 4-byte elements copied verbatim.
    const heap = backend.wasm.HEAPF32;
    const from = heapIndex(backend, x);
    const to = heapIndex(backend, out);
    for (let o = 0; o < outer; o++) {
      const src = from + o * axisDim * slice;
      const dst = to + o * count * slice;
      for (let i = 0; i < count; i++) {
        const s = src + idx[i]! * slice;
        const d = dst + i * slice;
        if (slice >= 16) heap.copyWithin(d, s, s + slice);
        else for (let k = 0; k < slice; k++) heap[d + k] = heap[s + k]!;
      }
    }
    return out;
  };
}
