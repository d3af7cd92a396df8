import * as tf from '@tensorflow/tfjs';

function countTensors(value: unknown, seen = new Set<number>()): number {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed || seen.has(value.id)) return 0;
    seen.add(value.id);
    return 1;
  }
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countTensors(v, seen), 0);
  if (value instanceof Map) return [...value.values()].reduce((n: number, v) => n + countTensors(v, seen), 0);
  if (value && typeof value === 'object' && !(value instanceof tf.layers.Layer)) {
    return Object.values(value).reduce((n: number, v) => n + countTensors(v, seen), 0);
  }
  return 0;
}

/** Thrown by {@link expectNoLeaks} when a call leaves tensors behind. */
export class TensorLeakError extends Error {}

/**
 * Run `fn` and assert it leaks no tensors: after the call, `tf.memory().numTensors` may
 * exceed the count before it only by the distinct live tensors reachable from the return
 * value (arrays, maps and plain objects are searched). Variables created on first use
 * (lazy layer building) are excluded by warming up: pass `warmup: true` to call `fn` once
 * first and dispose its result.
 *
 * @returns what `fn` returned (the caller owns and disposes it).
 */
export function expectNoLeaks<T>(fn: () => T, options: { warmup?: boolean } = {}): T {
  if (options.warmup) tf.dispose(collect(fn()));
  const before = tf.memory().numTensors;
  const out = fn();
  const returned = countTensors(out);
  const after = tf.memory().numTensors;
  if (after - before !== returned) {
    throw new TensorLeakError(
      `leaked ${after - before - returned} tensor(s): ${before} before, ${after} after, ${returned} returned`,
    );
  }
  return out;
}

/** Async variant of {@link expectNoLeaks}. */
export async function expectNoLeaksAsync<T>(
  fn: () => Promise<T>,
  options: { warmup?: boolean } = {},
): Promise<T> {
  if (options.warmup) tf.dispose(collect(await fn()));
  const before = tf.memory().numTensors;
  const out = await fn();
  const returned = countTensors(out);
  const after = tf.memory().numTensors;
  if (after - before !== returned) {
    throw new TensorLeakError(
      `leaked ${after - before - returned} tensor(s): ${before} before, ${after} after, ${returned} returned`,
    );
  }
  return out;
}

function collect(value: unknown, acc: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) acc.push(value);
  else if (Array.isArray(value)) value.forEach((v) => collect(v, acc));
  else if (value instanceof Map) [...value.values()].forEach((v) => collect(v, acc));
  else if (value && typeof value === 'object' && !(value instanceof tf.layers.Layer)) {
    Object.values(value).forEach((v) => collect(v, acc));
  }
  return acc;
}
