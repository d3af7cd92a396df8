import * as tf from '@tensorflow/tfjs';
import { Linear } from '@flowseg/core';

/**
 * A built {@link Linear} whose parameters are drawn from a seed (same distribution as its
 * default PyTorch-style init, `U(−1/√in, 1/√in)`), because core's `Linear` takes no seed.
 * Without a seed the default (unseeded) init is kept.
 */
export function seededLinear(config: { inFeatures: number; outFeatures: number }, seed: number | null): Linear {
  const linear = new Linear(config);
  linear.ensureBuilt();
  if (seed === null) return linear;
  const bound = 1 / Math.sqrt(config.inFeatures);
  let offset = 0;
  for (const v of linear.namedWeights().values()) {
    const s = seed + offset++;
    tf.tidy(() => {
      v.write(tf.randomUniform([...v.shape] as number[], -bound, bound, 'float32', s));
    });
  }
  return linear;
}
