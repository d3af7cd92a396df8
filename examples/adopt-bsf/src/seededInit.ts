import * as tf from '@tensorflow/tfjs';
import type { FlowSegLayer } from '@flowseg/core';

/**
 * Re-draw every linear-projection weight of `layer` (names ending in `proj.kernel|bias` or
 * `linearN.kernel|bias`) from PyTorch's `U(±1/√fan_in)` with a seed, so a run is repeatable.
 * Norms keep their ones/zeros and BSF's gate keeps its documented init (zero kernel, b₀ bias).
 */
export function seedLinearWeights(layer: FlowSegLayer, seed: number): void {
  const weights = [...layer.namedWeights()];
  const fanIn = new Map<string, number>();
  for (const [name, v] of weights) if (name.endsWith('.kernel')) fanIn.set(name.slice(0, -'kernel'.length), v.shape[0]!);
  weights.forEach(([name, v], i) => {
    const m = /^(.*(?:proj|linear\d)\.)(kernel|bias)$/.exec(name);
    if (!m) return;
    const bound = 1 / Math.sqrt(fanIn.get(m[1]!) ?? v.shape[0]!);
    tf.tidy(() => {
      v.write(tf.randomUniform(v.shape as number[], -bound, bound, 'float32', seed + 1009 * i));
    });
  });
}
