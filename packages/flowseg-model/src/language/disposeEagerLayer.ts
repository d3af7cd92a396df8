import * as tf from '@tensorflow/tfjs';

/**
 * `dispose()` for a FlowSeg layer that may have been run only eagerly (through `forward`).
 *
 * Why: TF.js counts a layer's uses from its first `apply()`; a layer called only through a
 * typed `forward()` keeps a `null` count, and `tf.layers.Layer.dispose()` (which core's
 * `FlowSegLayer.dispose` calls) throws "has not been used yet". Here such a layer counts as
 * used once, and TF.js's own dispose frees `layer.weights` — for a `FlowSegLayer` that list
 * already holds every descendant's weights, so children are not visited again.
 */
export function disposeEagerLayer(layer: tf.layers.Layer): ReturnType<tf.layers.Layer['dispose']> {
  if (!layer.built) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
  const counted = layer as unknown as { _refCount: number | null };
  if (counted._refCount === null) counted._refCount = 1;
  return tf.layers.Layer.prototype.dispose.call(layer);
}
