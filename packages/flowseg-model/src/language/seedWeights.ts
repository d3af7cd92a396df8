import * as tf from '@tensorflow/tfjs';
import type { FlowSegLayer } from '@flowseg/core';

/** FNV-1a hash of `seed` and `name`: a per-weight seed that does not depend on creation order. */
function weightSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Re-draw every affine weight of `layer` (and its descendants) from `seed`, so that equal
 * configs and seeds give equal weights whatever the global RNG state or creation order.
 *
 * Why: core's `Linear` draws its init from the global RNG. This keeps the same distribution
 * (PyTorch's `nn.Linear`/`nn.Conv2d` default, `U(−1/√fanIn, 1/√fanIn)` with
 * `fanIn = ∏ kernel.shape[:-1]`) but seeds each weight by hashing `seed` with its dotted name.
 * Rules: a weight named `…kernel` and a `…bias` with a sibling `…kernel` are re-drawn;
 * anything else (LayerNorm's ones/zeros, embeddings that were created with a seeded
 * initializer) is left as is.
 *
 * @param layer - a built layer.
 * @param seed - integer seed.
 */
export function seedWeights(layer: FlowSegLayer, seed: number): void {
  const weights = layer.namedWeights();
  for (const [name, variable] of weights) {
    const dot = name.lastIndexOf('.');
    const prefix = name.slice(0, dot + 1);
    const leaf = name.slice(dot + 1);
    let kernel: tf.LayerVariable | undefined;
    if (leaf === 'kernel') kernel = variable;
    else if (leaf === 'bias') kernel = weights.get(`${prefix}kernel`);
    if (!kernel) continue;
    // Built variables have fully known shapes.
    const kernelShape = kernel.shape as number[];
    const fanIn = kernelShape.slice(0, -1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const value = tf.randomUniform(variable.shape as number[], -bound, bound, 'float32', weightSeed(seed, name));
    variable.write(value);
    value.dispose();
  }
}

/** Integer seed for a named parameter created directly by a layer (embeddings, positions). */
export function paramSeed(seed: number, name: string): number {
  return weightSeed(seed, name);
}
