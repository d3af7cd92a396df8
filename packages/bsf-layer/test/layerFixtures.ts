import * as tf from '@tensorflow/tfjs';
import { BSFDecoderLayer, type BSFDecoderLayerConfig, type BSFDecoderLayerInputs } from '@flowseg/bsf-layer';
import type { ConditionState } from '@flowseg/core';
import { items, maskFromCounts, rand, seedWeights, validFromCounts } from './helpers.js';
import { bsfLayer, type Mat } from './reference.js';

/** Small sizes used by the layer tests. */
export const SIZES = { D: 8, H: 2, F: 16, N: 5, P: 6 } as const;

/** A BSF layer with seeded weights. */
export function makeLayer(options: Partial<BSFDecoderLayerConfig> = {}, seed = 41): BSFDecoderLayer {
  const layer = new BSFDecoderLayer({ hiddenDim: SIZES.D, numHeads: SIZES.H, ffnDim: SIZES.F, ...options });
  layer.ensureBuilt();
  seedWeights(layer, seed);
  return layer;
}

/** Seeded layer inputs for `counts.length` items with `t` condition slots (`counts[b]` real). */
export function makeInputs(counts: number[], t: number, seed = 100): BSFDecoderLayerInputs & { conditions: ConditionState } {
  const b = counts.length;
  const { D, N, P } = SIZES;
  return {
    queries: rand([b, N, D], seed) as tf.Tensor3D,
    queryPos: rand([b, N, D], seed + 1) as tf.Tensor3D,
    memory: rand([b, P, D], seed + 2) as tf.Tensor3D,
    memoryPos: rand([b, P, D], seed + 3) as tf.Tensor3D,
    attentionMask: tf.tidy(() => tf.greater(tf.randomUniform([b, N, P], 0, 1, 'float32', seed + 4), 0.6)) as tf.Tensor3D,
    conditions: {
      conditions: rand([b, t, D], seed + 5) as tf.Tensor3D,
      conditionMask: maskFromCounts(counts, t),
    },
  };
}

/** Dispose every tensor of a fixture. */
export function disposeInputs(x: BSFDecoderLayerInputs): void {
  tf.dispose([x.queries, x.queryPos, x.memory, x.memoryPos]);
  if (x.attentionMask) x.attentionMask.dispose();
  if (x.conditions) tf.dispose([x.conditions.conditions, x.conditions.conditionMask]);
}

/**
 * The re-derived layer (`bsfLayer` in reference.ts) run item by item on `x` with `layer`'s
 * weights; `counts[b]` of the `t` condition slots of item `b` are real.
 */
export function referenceOutputs(
  layer: BSFDecoderLayer,
  x: BSFDecoderLayerInputs & { conditions: ConditionState },
  counts: number[],
  opts: Parameters<typeof bsfLayer>[3],
): ReturnType<typeof bsfLayer>[] {
  const w = layer.namedWeights();
  const valid = validFromCounts(counts, x.conditions.conditions.shape[1]);
  const blocked = x.attentionMask!.arraySync() as unknown as boolean[][][];
  const [q, p, m, mp, c] = [x.queries, x.queryPos, x.memory, x.memoryPos, x.conditions.conditions].map(items) as Mat[][];
  return counts.map((_, b) =>
    bsfLayer(
      w,
      SIZES.H,
      { queries: q[b]!, queryPos: p[b]!, memory: m[b]!, memoryPos: mp[b]!, blocked: blocked[b]!, conditions: c[b]!, valid: valid[b]! },
      opts,
    ),
  );
}
