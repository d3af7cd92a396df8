import * as tf from '@tensorflow/tfjs';
import type { SegmentationTarget } from '@flowseg/mask2former-decoder';

/**
 * A class-agnostic Mask2Former target (every mask class 0, "object") from binary masks
 * `[height·width]` at image resolution; the criterion samples them at normalized points,
 * so they need not match the prediction's resolution.
 */
export function maskTarget(masks: readonly Uint8Array[], height: number, width: number): SegmentationTarget {
  const data = new Float32Array(masks.length * height * width);
  masks.forEach((m, i) => {
    for (let j = 0; j < m.length; j++) data[i * height * width + j] = m[j]!;
  });
  return {
    labels: tf.zeros([masks.length], 'int32') as tf.Tensor1D,
    masks: tf.tensor3d(data, [masks.length, height, width]),
  };
}

/** Dispose the tensors of targets built by {@link maskTarget}. */
export function disposeTargets(targets: readonly SegmentationTarget[]): void {
  tf.dispose(targets.flatMap((t) => [t.labels, t.masks]));
}
