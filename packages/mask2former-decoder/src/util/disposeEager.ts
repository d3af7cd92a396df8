import type * as tf from '@tensorflow/tfjs';

/** What `tf.layers.Layer.dispose()` returns. */
export type LayerDisposeResult = ReturnType<tf.layers.Layer['dispose']>;

/**
 * @internal Dispose a layer tree that may only ever have been used eagerly.
 *
 * Why: `tf.layers.Layer.dispose()` throws "has not been used yet" for a layer that was built
 * through `ensureBuilt()` and called through typed `forward` methods instead of `apply()`
 * (its reference count is only set by `apply`), and core's `FlowSegLayer.dispose()` inherits
 * that. For such a layer we dispose every variable of the tree directly; a layer used through
 * `apply()` goes through `fallback` (the normal reference-counted path).
 */
export function disposeEager(layer: tf.layers.Layer, fallback: () => LayerDisposeResult): LayerDisposeResult {
  const refCount = (layer as unknown as { _refCount: number | null })._refCount;
  if (refCount !== null || !layer.built) return fallback();
  const variables = new Map<number, tf.LayerVariable>();
  for (const v of [...layer.trainableWeights, ...layer.nonTrainableWeights]) variables.set(v.id, v);
  for (const v of variables.values()) v.dispose();
  (layer as unknown as { _refCount: number | null })._refCount = 0;
  return { refCountAfterDispose: 0, numDisposedVariables: variables.size };
}
