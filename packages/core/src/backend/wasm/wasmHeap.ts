import * as tf from '@tensorflow/tfjs';

/** A tensor as kernels see it: data id, shape, dtype (tfjs-core's `TensorInfo`). */
export type TensorInfo = tf.TensorInfo;

/**
 * The parts of tfjs-backend-wasm's `BackendWasm` our kernels touch. Declared structurally so
 * core does not import the backend's private types.
 */
export interface WasmBackendLike {
  readonly wasm: {
    readonly HEAPF32: Float32Array;
    readonly HEAP32: Int32Array;
    readonly HEAPU8: Uint8Array;
    readonly tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
    cwrap(name: string, returns: null, args: string[]): (...args: unknown[]) => void;
  };
  readonly dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number };
    set(dataId: object, data: { id: number; memoryOffset: number; shape: number[]; dtype: tf.DataType; refCount: number }): void;
    delete(dataId: object): boolean;
  };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Arguments a kernel function receives. */
export interface KernelArgs<A = Record<string, unknown>> {
  readonly inputs: Record<string, TensorInfo>;
  readonly backend: WasmBackendLike;
  readonly attrs: A;
}

/** Element offset of a float32/int32 tensor in the wasm heap (4-byte elements). */
export function heapIndex(backend: WasmBackendLike, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset >>> 2;
}

/**
 * The current float32 view of the heap. Any allocation may grow wasm memory and detach the
 * previous view, so call this again after every `makeOutput` or kernel call.
 */
export function heapF32(backend: WasmBackendLike): Float32Array {
  return backend.wasm.HEAPF32;
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Allocate a float32 output on the heap, zero-filled. */
export function zeros(backend: WasmBackendLike, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  const at = heapIndex(backend, out);
  heapF32(backend).fill(0, at, at + sizeOf(shape));
  return out;
}

/** A float32 tensor over part of another tensor's heap memory, by its wasm tensor id; `release` unregisters it (never frees). */
export interface HeapView {
  readonly id: number;
  release(): void;
}

/**
 * Register `shape` elements of `base`'s memory, starting `elementOffset` float32s in, as a
 * tensor of its own, so a wasm kernel can read or write one matrix of a batch in place instead
 * of a copy. It is registered with the backend and the wasm side like any tensor (kernels find
 * it by id), but `release` only unregisters it: the memory stays `base`'s. Release it before
 * `base` is disposed.
 */
export function heapView(backend: WasmBackendLike, base: TensorInfo, elementOffset: number, shape: number[]): HeapView {
  const id = backend.dataIdNextNumber++;
  const memoryOffset = backend.dataIdMap.get(base.dataId).memoryOffset + elementOffset * 4;
  const dataId = {};
  backend.dataIdMap.set(dataId, { id, memoryOffset, shape, dtype: 'float32', refCount: 1 });
  backend.wasm.tfjs.registerTensor(id, sizeOf(shape), memoryOffset);
  return {
    id,
    release: () => {
      // The wasm side's disposal also drops any XNNPACK operator cached for this id.
      backend.wasm.tfjs.disposeData(id);
      backend.dataIdMap.delete(dataId);
    },
  };
}

/** A view of `info`'s data under another shape of the same size (no copy; caller must not dispose it). */
export function reshaped(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/**
 * Copy matrix `g` of a `[G, rows, cols]` heap tensor into a fresh `[1, rows, cols]` tensor,
 * transposing it to `[1, cols, rows]` when `transpose` is set.
 */
export function copyMatrix(
  backend: WasmBackendLike,
  src: TensorInfo,
  g: number,
  rows: number,
  cols: number,
  transpose: boolean,
): TensorInfo {
  const out = backend.makeOutput(transpose ? [1, cols, rows] : [1, rows, cols], 'float32');
  const heap = heapF32(backend);
  const from = heapIndex(backend, src) + g * rows * cols;
  const to = heapIndex(backend, out);
  if (!transpose) {
    heap.copyWithin(to, from, from + rows * cols);
    return out;
  }
  // Tiled transpose: output rows are written contiguously, the strided reads stay within a
  // 64×64 tile (3–4× faster in V8 than walking the input contiguously).
  const T = 64;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols);
      for (let c = c0; c < c1; c++) {
        const outAt = to + c * rows;
        for (let r = r0; r < r1; r++) heap[outAt + r] = heap[from + r * cols + c]!;
      }
    }
  }
  return out;
}
