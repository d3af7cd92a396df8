import * as tf from '@tensorflow/tfjs';
import { FlowSegError } from '../errors/FlowSegError.js';

/**
 * tfjs-backend-webgpu reads a GPU buffer synchronously (`dataSync`, `arraySync`, `bufferSync`)
 * by drawing it into an `OffscreenCanvas`. Node with Dawn (the `webgpu` package) has neither a
 * canvas nor a blocking buffer map, so there a synchronous read of a GPU-resident tensor cannot
 * work at all — only `await tensor.data()` does. In headless Chromium 156 on SwiftShader the
 * canvas path exists but returned zeros and then lost the device ("A valid external Instance
 * reference no longer exists"), in the main thread and in workers alike.
 */

interface ReadSyncBackend {
  readSync(dataId: object): unknown;
}

const guarded = new WeakSet<object>();

/** Whether the current environment has the `OffscreenCanvas` webgpu's synchronous read needs. */
function hasOffscreenCanvas(): boolean {
  return typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined';
}

/**
 * Whether FlowSeg code may read tensors of `backend` (default: the active one) synchronously
 * (`dataSync`, `arraySync`) and get their values. False for `webgpu` everywhere: in Node it
 * cannot work, and the browser's canvas-based path returned wrong values in headless Chromium;
 * code with a data-dependent step should take a path without synchronous reads there, or
 * `await tensor.data()`.
 */
export function backendReadsSynchronously(backend: string = tf.getBackend()): boolean {
  return backend !== 'webgpu';
}

/**
 * Make synchronous reads on Node's webgpu backend fail with a {@link FlowSegError} that says
 * why and what to do, instead of `ReferenceError: OffscreenCanvas is not defined` from inside
 * TF.js. Values already on the CPU (cached after an async read, or never uploaded) still read
 * synchronously. Idempotent; does nothing where `OffscreenCanvas` exists.
 */
export function guardNodeWebGpuReadSync(): void {
  if (hasOffscreenCanvas()) return;
  const backend = tf.findBackend('webgpu') as unknown as ReadSyncBackend | null;
  if (!backend || guarded.has(backend)) return;
  guarded.add(backend);
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object): unknown => {
    try {
      return readSync(dataId);
    } catch (e) {
      if (!(e instanceof ReferenceError) || !/OffscreenCanvas/.test(e.message)) throw e;
      throw new FlowSegError(
        'webgpu in Node cannot read a tensor synchronously (dataSync/arraySync/bufferSync): ' +
          'tfjs-backend-webgpu reads through an OffscreenCanvas, which Node lacks. ' +
          'Use `await tensor.data()` / `await tensor.array()`, or run code that needs synchronous reads on wasm or cpu.',
      );
    }
  };
}
