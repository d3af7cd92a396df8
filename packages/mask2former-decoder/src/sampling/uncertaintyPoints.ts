import * as tf from '@tensorflow/tfjs';
import { ValueError } from '@flowseg/core';
import type { SeededRandom } from '../util/SeededRandom.js';
import { detached } from '../util/detached.js';
import { samplePoints } from './pointSampling.js';

/** Options of {@link uncertaintyPointCoords}. */
export interface UncertaintySamplingOptions {
  /** Points per mask `P`. */
  readonly numPoints: number;
  /** Candidates drawn per point (Mask2Former: 3). */
  readonly oversampleRatio: number;
  /** Share of points chosen by uncertainty; the rest are uniform (Mask2Former: 0.75). */
  readonly importanceSampleRatio: number;
}

/** `count` uniform points `(x, y)` in `[0, 1)²` from `rng`, as `[rows, count, 2]`. */
export function uniformPointCoords(rng: SeededRandom, rows: number, count: number): tf.Tensor3D {
  return tf.tensor3d(rng.uniform(rows * count * 2), [rows, count, 2]);
}

/**
 * PointRend / Mask2Former importance sampling (`get_uncertain_point_coords_with_randomness`):
 * draw `P·oversampleRatio` uniform candidates per mask, keep the `⌊importance·P⌋` whose logits
 * are closest to 0 (uncertainty `−|logit|`), and add `P − ⌊importance·P⌋` fresh uniform points.
 * No gradient.
 *
 * @param maskLogits - `[rows, height, width]`.
 * @returns coordinates `[rows, numPoints, 2]`, normalized `(x, y)`.
 */
export function uncertaintyPointCoords(
  maskLogits: tf.Tensor3D,
  rng: SeededRandom,
  options: UncertaintySamplingOptions,
): tf.Tensor3D {
  const { numPoints, oversampleRatio, importanceSampleRatio } = options;
  if (!(oversampleRatio >= 1)) {
    throw new ValueError(`oversampleRatio: expected a number ≥ 1, received ${oversampleRatio}`, 'oversampleRatio');
  }
  if (!(importanceSampleRatio >= 0 && importanceSampleRatio <= 1)) {
    throw new ValueError(
      `importanceSampleRatio: expected a ratio in [0, 1], received ${importanceSampleRatio}`,
      'importanceSampleRatio',
    );
  }
  const rows = maskLogits.shape[0];
  const numSampled = Math.floor(numPoints * oversampleRatio);
  const numUncertain = Math.floor(importanceSampleRatio * numPoints);
  const numRandom = numPoints - numUncertain;
  // Draw in a fixed order (candidates, then the random remainder) so a seed fixes everything.
  const candidates = uniformPointCoords(rng, rows, numSampled);
  const random = numRandom > 0 ? uniformPointCoords(rng, rows, numRandom) : null;
  const out = detached(() =>
    tf.tidy(() => {
      if (numUncertain === 0) return random!.clone();
      const uncertainty = tf.neg(tf.abs(samplePoints(maskLogits, candidates)));
      const { indices } = tf.topk(uncertainty, numUncertain); // [R, k]
      const flat = tf.add(indices, tf.reshape(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(numSampled, 'int32')), [rows, 1]));
      const chosen = tf.reshape(
        tf.gather(tf.reshape(candidates, [rows * numSampled, 2]), tf.reshape(flat, [rows * numUncertain])),
        [rows, numUncertain, 2],
      );
      return (random ? tf.concat([chosen, random], 1) : chosen) as tf.Tensor3D;
    }),
  );
  candidates.dispose();
  random?.dispose();
  return out;
}
