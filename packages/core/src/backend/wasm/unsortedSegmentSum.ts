import { heapIndex, sizeOf, zeros, type KernelArgs, type TensorInfo } from './wasmHeap.js';

/**
 * `UnsortedSegmentSum` for wasm (float32 data, int32 ids), which ships none: it is the
 * gradient of `tf.gather`, so embeddings and any gathered weight train on wasm.
 * `out[s] = Σ_{i: ids[i] = s} x[i]`; ids outside `[0, numSegments)` are dropped, as in TF.
 */
export function unsortedSegmentSum(args: KernelArgs<{ numSegments: number }>): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs['x']!;
  const ids = args.inputs['segmentIds']!;
  if (x.dtype !== 'float32' || ids.dtype !== 'int32') {
    throw new Error(
      `UnsortedSegmentSum on wasm (FlowSeg kernel): expected float32 x and int32 segmentIds, received ${x.dtype} and ${ids.dtype}`,
    );
  }
  const numSegments = attrs.numSegments;
  const count = sizeOf(ids.shape);
  const inner = count === 0 ? 0 : sizeOf(x.shape) / count;
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const out = zeros(backend, outShape);
  const heap = backend.wasm.HEAPF32;
  const idHeap = backend.wasm.HEAP32;
  const xAt = heapIndex(backend, x);
  const idAt = heapIndex(backend, ids);
  const outAt = heapIndex(backend, out);
  for (let i = 0; i < count; i++) {
    const s = idHeap[idAt + i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = xAt + i * inner;
    const dst = outAt + s * inner;
    for (let j = 0; j < inner; j++) heap[dst + j] += heap[src + j]!;
  }
  return out;
}
