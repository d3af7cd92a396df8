import * as tf from '@tensorflow/tfjs';
import { regionBoxes } from './regionBoxes.js';
import { cropImageRegions, cropMapRegions } from './cropRegions.js';

/**
 * What the region encoder looks at for each candidate: a `size × size` crop of the image
 * around the candidate's binary mask (box from {@link regionBoxes}) with the candidate's mask
 * probability `σ(logits)` as a fourth channel, so the crop says which object of the window is
 * meant.
 *
 * Detached from the tape (zero gradient to `images` and `maskLogits`): the crop describes a
 * candidate, and selection losses must not reshape the masks through it. Also keeps the
 * thresholding and box arithmetic (no gradients of their own) off the backward pass.
 *
 * @param images - `[rows, height, width, 3]` float32, the image each row of candidates belongs to.
 * @param maskLogits - `[rows, candidates, maskHeight, maskWidth]` candidate mask logits.
 * @param size - crop side.
 * @returns `[rows·candidates, size, size, 4]` (RGB, mask probability), row-major.
 */
export function candidateCrops(images: tf.Tensor4D, maskLogits: tf.Tensor4D, size: number): tf.Tensor4D {
  const [rows, candidates, mh, mw] = maskLogits.shape;
  const crop = tf.customGrad(((imageInput: tf.Tensor, logitInput: tf.Tensor) => {
    const value = tf.tidy(() => {
      const logits = tf.reshape(logitInput, [rows * candidates, mh, mw]) as tf.Tensor3D;
      const boxes = regionBoxes(tf.cast(tf.greater(logits, 0), 'float32') as tf.Tensor3D);
      const image = cropImageRegions(imageInput as tf.Tensor4D, boxes, candidates, size);
      const mask = cropMapRegions(tf.sigmoid(logits) as tf.Tensor3D, boxes, size);
      return tf.concat([image, tf.expandDims(mask, 3)], 3);
    });
    return { value, gradFunc: () => [tf.zerosLike(imageInput), tf.zerosLike(logitInput)] };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return crop(images, maskLogits) as tf.Tensor4D;
}
