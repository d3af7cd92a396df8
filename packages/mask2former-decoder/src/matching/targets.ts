import type * as tf from '@tensorflow/tfjs';
import { checkShapes, ValueError } from '@flowseg/core';

/** Ground truth of one image for matching and losses. */
export interface SegmentationTarget {
  /** Class index of each target, int32 `[targets]` (values in `[0, numClasses)`). */
  readonly labels: tf.Tensor1D;
  /**
   * Binary masks `[targets, height, width]`, float32 (any resolution: they are sampled at
   * normalized point coordinates, so they need not match the predictions').
   */
  readonly masks: tf.Tensor3D;
}

/** Matched pairs of one image (Mask2Former's `(index_i, index_j)`). */
export interface MatchIndices {
  /** Matched query indices, ascending. */
  readonly queryIndices: Int32Array;
  /** Target index matched to each entry of `queryIndices`. */
  readonly targetIndices: Int32Array;
}

/**
 * @internal Validates one image's target and returns its labels on the CPU.
 * @throws ShapeError / DTypeError / ValueError naming `targets[i]…`.
 */
export function readTargetLabels(target: SegmentationTarget, index: number, numClasses: number): Int32Array {
  checkShapes({
    [`targets[${index}].labels`]: { tensor: target.labels, axes: ['targets'], dtypes: ['int32'] },
    [`targets[${index}].masks`]: { tensor: target.masks, axes: ['targets', 'height', 'width'], dtypes: ['float32'] },
  });
  const labels = target.labels.dataSync() as Int32Array;
  labels.forEach((c, k) => {
    if (c < 0 || c >= numClasses) {
      throw new ValueError(`targets[${index}].labels: entry ${k} is ${c}, outside [0, ${numClasses})`, `targets[${index}].labels`);
    }
  });
  return Int32Array.from(labels);
}
