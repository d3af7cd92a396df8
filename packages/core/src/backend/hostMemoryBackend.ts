import * as tf from '@tensorflow/tfjs';

/**
 * Whether tensors of `backend` (default: the active one) live in host memory (`cpu`, `wasm`),
 * so that reading a small one back is a copy, not a device round trip. Code may then look at a
 * mask's values to skip work it makes unnecessary; on GPU backends (and `tensorflow`, whose
 * tensors may sit on a GPU) such a read would stall the pipeline, so the general path runs.
 */
export function backendKeepsDataOnHost(backend: string = tf.getBackend()): boolean {
  return backend === 'cpu' || backend === 'wasm';
}
