import * as tf from '@tensorflow/tfjs';
import { pixelCentres } from './pixelCentres.js';

/**
 * Minimum half side of a region box, in units of the mask's side (a box never shrinks below
 * 2×2 mask pixels, so even a one-pixel candidate gets a crop with some context).
 */
export const REGION_BOX_MIN_HALF_PIXELS = 1;
/**
 * Half side of a box in standard deviations of the mask's pixel positions: a uniform disk of
 * radius r has σ = r/2 per axis, so 2.5σ puts its rim at 80 % of the crop's half side.
 */
export const REGION_BOX_HALF_SIDE_SIGMAS = 2.5;

/** Square boxes in normalized image coordinates (`[0, 1]` spans the image). */
export interface RegionBoxes {
  /** Box centre rows `[regions]`. */
  readonly centerY: tf.Tensor1D;
  /** Box centre columns `[regions]`. */
  readonly centerX: tf.Tensor1D;
  /** Half side `[regions]`, the same fraction of the height and of the width. */
  readonly half: tf.Tensor1D;
}

/**
 * One square box per binary mask, from the mask's first and second moments: centre = mean
 * pixel position, half side = 2.5 × the larger per-axis standard deviation, at least one mask
 * pixel and at most the whole image. Square so that a crop keeps the object's aspect ratio
 * (a square and a wide rectangle must not look alike). An empty mask gets the whole image.
 *
 * @param masks - `[regions, maskHeight, maskWidth]` float32 0/1.
 */
export function regionBoxes(masks: tf.Tensor3D): RegionBoxes {
  const [, h, w] = masks.shape;
  return tf.tidy(() => {
    const ys = tf.reshape(pixelCentres(h), [1, h, 1]);
    const xs = tf.reshape(pixelCentres(w), [1, 1, w]);
    const mass = tf.sum(masks, [1, 2]);
    const empty = tf.lessEqual(mass, 0);
    const safeMass = tf.maximum(mass, 1);
    const mean = (coord: tf.Tensor) => tf.div(tf.sum(tf.mul(masks, coord), [1, 2]), safeMass);
    const cy = mean(ys);
    const cx = mean(xs);
    const variance = (coord: tf.Tensor, c: tf.Tensor) =>
      tf.div(tf.sum(tf.mul(masks, tf.square(tf.sub(coord, tf.reshape(c, [-1, 1, 1])))), [1, 2]), safeMass);
    const sigma = tf.sqrt(tf.maximum(variance(ys, cy), variance(xs, cx)));
    const minHalf = REGION_BOX_MIN_HALF_PIXELS / Math.min(h, w);
    const half = tf.clipByValue(tf.mul(sigma, REGION_BOX_HALF_SIDE_SIGMAS), minHalf, 0.5);
    const centre = tf.fill(mass.shape, 0.5);
    return {
      centerY: tf.where(empty, centre, cy) as tf.Tensor1D,
      centerX: tf.where(empty, centre, cx) as tf.Tensor1D,
      half: tf.where(empty, centre, half) as tf.Tensor1D,
    };
  });
}
