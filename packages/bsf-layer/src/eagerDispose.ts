import * as tf from '@tensorflow/tfjs';

/**
 * `dispose()` for a FlowSeg layer that may have been run only eagerly (through `forward`).
 *
 * Why: TF.js counts a layer's uses from its first `apply()`; a layer called only through a
 * typed `forward()` keeps a `null` count and `tf.layers.Layer.dispose()` throws "has not
 * been used yet" (core's `FlowSegLayer.dispose` inherits this). Here such a layer counts as
 * used once, and TF.js's own dispose frees `layer.weights` — which, for a `FlowSegLayer`,
 * already lists every descendant's weights, so children are not visited a second time.
 * An unbuilt layer holds no weights: nothing to do.
 */
export function disposeEagerLayer(layer: tf.layers.Layer): ReturnType<tf.layers.Layer['dispose']> {
  if (!layer.built) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
  const counted = layer as unknown as { _refCount: number | null };
  if (counted._refCount === null) counted._refCount = 1;
  return tf.layers.Layer.prototype.dispose.call(layer);
}
