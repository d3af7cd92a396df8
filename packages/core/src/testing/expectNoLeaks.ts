import * as tf from '@tensorflow/tfjs';

/**
 * The distinct live tensors reachable from `value` (arrays, maps, plain objects) that were
 * created at or after tensor id `firstId`: a result that passes an argument through returns a
 * tensor the call did not create, which is neither counted nor disposed.
 */
function newTensorsIn(value: unknown, firstId: number, acc = new Map<number, tf.Tensor>()): Map<number, tf.Tensor> {
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed && value.id >= firstId) acc.set(value.id, value);
  } else if (Array.isArray(value)) {
    value.forEach((v) => newTensorsIn(v, firstId, acc));
  } else if (value instanceof Map) {
    value.forEach((v) => newTensorsIn(v, firstId, acc));
  } else if (value && typeof value === 'object' && !(value instanceof tf.layers.Layer)) {
    Object.values(value).forEach((v) => newTensorsIn(v, firstId, acc));
  }
  return acc;
}

/**
 * The id the next tensor will get: tensor ids only grow, so a smaller id means the tensor
 * existed before (an argument a call may pass through).
 * @internal
 */
export function nextTensorId(): number {
  const marker = tf.scalar(0);
  const id = marker.id + 1;
  marker.dispose();
  return id;
}

function checkCounts(before: number, firstId: number, out: unknown): void {
  const returned = newTensorsIn(out, firstId).size;
  const after = tf.memory().numTensors;
  if (after - before !== returned) {
    throw new TensorLeakError(
      `leaked ${after - before - returned} tensor(s): ${before} before, ${after} after, ${returned} returned`,
    );
  }
}

/** Thrown by {@link expectNoLeaks} when a call leaves tensors behind. */
export class TensorLeakError extends Error {}

/**
 * Run `fn` and assert it leaks no tensors: after the call, `tf.memory().numTensors` may
 * exceed the count before it only by the distinct live tensors reachable from the return
 * value (arrays, maps and plain objects are searched). Variables created on first use
 * (lazy layer building) are excluded by warming up: pass `warmup: true` to call `fn` once
 * first and dispose what it created. Tensors the result passes through from the arguments
 * (created before the call) are neither counted as returned nor disposed.
 *
 * @returns what `fn` returned (the caller owns and disposes it).
 */
export function expectNoLeaks<T>(fn: () => T, options: { warmup?: boolean } = {}): T {
  if (options.warmup) {
    const firstId = nextTensorId();
    tf.dispose([...newTensorsIn(fn(), firstId).values()]);
  }
  const before = tf.memory().numTensors;
  const firstId = nextTensorId();
  const out = fn();
  checkCounts(before, firstId, out);
  return out;
}

/** Async variant of {@link expectNoLeaks}. */
export async function expectNoLeaksAsync<T>(
  fn: () => Promise<T>,
  options: { warmup?: boolean } = {},
): Promise<T> {
  if (options.warmup) {
    const firstId = nextTensorId();
    tf.dispose([...newTensorsIn(await fn(), firstId).values()]);
  }
  const before = tf.memory().numTensors;
  const firstId = nextTensorId();
  const out = await fn();
  checkCounts(before, firstId, out);
  return out;
}
