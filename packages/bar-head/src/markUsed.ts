import type * as tf from '@tensorflow/tfjs';

/**
 * Let `tf.layers.Layer.dispose()` release a layer that was only called eagerly.
 *
 * Why: TF.js counts a layer's uses from its first `apply()`; a layer built and called
 * through a typed `forward()` keeps a `null` count, and `dispose()` then throws "has not
 * been used yet". Setting the count to 1 for such a layer makes one `dispose()` free its
 * weights; a layer already counted by `apply()` is left alone.
 */
export function markUsed(layer: tf.layers.Layer): void {
  const counted = layer as unknown as { _refCount: number | null };
  if (layer.built && counted._refCount === null) counted._refCount = 1;
}
