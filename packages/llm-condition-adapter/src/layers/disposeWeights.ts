import type * as tf from '@tensorflow/tfjs';

const disposed = new WeakSet<tf.LayerVariable>();

/**
 * Dispose layer variables once each; returns how many were disposed now.
 *
 * Why: `tf.layers.Layer.dispose()` refuses a layer that was never `apply()`d ("has not been
 * used yet"), and FlowSeg layers and their children are normally run through `forward()`,
 * so FlowSeg layers here dispose their weight tree directly.
 */
export function disposeWeights(weights: readonly tf.LayerVariable[]): number {
  let n = 0;
  for (const w of weights) {
    if (disposed.has(w)) continue;
    disposed.add(w);
    w.dispose();
    n++;
  }
  return n;
}
