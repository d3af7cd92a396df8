import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError } from '@flowseg/core';

/**
 * Stack RGB byte images `[height, width, 3]` into a float32 batch `[batch, height, width, 3]`
 * scaled to `[0, 1]`.
 */
export function imageBatch(images: readonly { image: Uint8Array; width: number; height: number }[]): tf.Tensor4D {
  if (images.length === 0) throw new ValueError('images: expected at least one image', 'images');
  const { width, height } = images[0]!;
  const size = width * height * 3;
  const data = new Float32Array(images.length * size);
  images.forEach((im, i) => {
    if (im.width !== width || im.height !== height || im.image.length !== size) {
      throw new ShapeError(`images[${i}]`, `[height=${height}, width=${width}, 3]`, [im.height, im.width, im.image.length / Math.max(1, im.height * im.width)], 'all images must have one size');
    }
    for (let j = 0; j < size; j++) data[i * size + j] = im.image[j]! / 255;
  });
  return tf.tensor4d(data, [images.length, height, width, 3]);
}
