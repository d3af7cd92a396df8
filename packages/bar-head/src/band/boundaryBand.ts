import * as tf from '@tensorflow/tfjs';
import { checkShapes, tidy } from '@flowseg/core';
import { withoutGradient } from './withoutGradient.js';
import { requireChoice, requireInRange, requireOddKernel } from '../validation.js';

/** Default band threshold ε (the paper's). */
export const DEFAULT_BAND_EPSILON = 0.1;
/** Default side of the square structuring element. */
export const DEFAULT_BAND_KERNEL = 3;

/**
 * How the band threshold is chosen by {@link boundaryBand}:
 * - `'off'`: fixed, `B = 1[g > ε]` (the paper).
 * - `'relative'`: per mask, `B = 1[g > ε · max_{h,w} g]`, so a mask whose sharpest edge is
 *   soft still gets a band; a constant mask (max g = 0) gets none.
 */
export type BandThresholdMode = 'off' | 'relative';

/** Options of {@link boundaryBand}. */
export interface BoundaryBandOptions {
  /** Threshold ε on the morphological gradient, in `[0, 1)`; the comparison is strict (default 0.1). */
  readonly epsilon?: number;
  /** Side of the square structuring element: an odd integer ≥ 3 (default 3). */
  readonly kernel?: number;
  /** Adaptive threshold (default `'off'`: the fixed ε of the paper). */
  readonly adaptiveThreshold?: BandThresholdMode;
}

/**
 * `max` over a `kernel × kernel` window with stride 1 and 'same' padding on
 * `[batch, masks, height, width]`. Out-of-image positions are ignored (TF.js's max-pool pads
 * with −∞), i.e. the window is clipped to the image.
 */
function windowMax(x: tf.Tensor4D, kernel: number): tf.Tensor4D {
  const [b, n, h, w] = x.shape;
  const pooled = tf.maxPool(tf.reshape(x, [b * n, h, w, 1]) as tf.Tensor4D, kernel, 1, 'same');
  return tf.reshape(pooled, [b, n, h, w]);
}

function gradientOnTape(probs: tf.Tensor4D, kernel: number): tf.Tensor4D {
  const dilated = windowMax(probs, kernel);
  const eroded = tf.neg(windowMax(tf.neg(probs), kernel));
  return tf.sub(dilated, eroded);
}

const gradientCut = new Map<number, (x: tf.Tensor) => tf.Tensor4D>();
function gradientWithoutTape(kernel: number): (x: tf.Tensor) => tf.Tensor4D {
  let fn = gradientCut.get(kernel);
  if (!fn) {
    fn = withoutGradient((x) => gradientOnTape(x as tf.Tensor4D, kernel));
    gradientCut.set(kernel, fn);
  }
  return fn;
}

function checkProbs(probs: tf.Tensor4D): void {
  checkShapes({ probs: { tensor: probs, axes: ['batch', 'masks', 'height', 'width'], dtypes: ['float32'] } });
}

/**
 * Morphological gradient `g = dilate(p) − erode(p)` of mask probabilities, with
 * `dilate = maxPool_k(p)` and `erode = −maxPool_k(−p)` (stride 1, 'same').
 *
 * Borders: the window is clipped to the image (padding never wins the max or the min), so
 * a mask that runs off the image edge has no band along that edge; only real transitions
 * inside the image count. Cut from the gradient tape (its gradient is zero).
 *
 * @param probs - mask probabilities `[batch, masks, height, width]`, float32, values in `[0, 1]`.
 * @param kernel - side of the square window, odd ≥ 3 (default 3).
 * @returns `g` `[batch, masks, height, width]`, in `[0, 1]` for probabilities.
 */
export function morphologicalGradient(probs: tf.Tensor4D, kernel: number = DEFAULT_BAND_KERNEL): tf.Tensor4D {
  requireOddKernel(kernel, 'kernel');
  checkProbs(probs);
  return tidy(() => gradientWithoutTape(kernel)(probs));
}

/**
 * Threshold an already-computed morphological gradient into a band (shared by
 * {@link boundaryBand} and the layer). `g` must already be cut from the tape.
 * @internal
 */
export function thresholdGradient(g: tf.Tensor4D, epsilon: number, mode: BandThresholdMode): tf.Tensor4D {
  // Comparisons have no gradient; cut so that a caller's tape never reaches tf.greater.
  return withoutGradient((x) => {
    const threshold = mode === 'relative' ? tf.mul(tf.max(x, [2, 3], true), epsilon) : tf.scalar(epsilon);
    return tf.cast(tf.greater(x, threshold), 'float32') as tf.Tensor4D;
  })(g);
}

/**
 * Boundary band of mask probabilities: `B = 1[(dilate(p) − erode(p)) > ε]` (see
 * {@link morphologicalGradient} for the window and the border rule), as float32 0/1.
 * No gradient flows through it: `d B / d probs` is exactly zero.
 *
 * @example
 * ```ts
 * const band = boundaryBand(tf.sigmoid(maskLogits)); // ε = 0.1, 3×3
 * ```
 *
 * @param probs - mask probabilities `[batch, masks, height, width]`, float32.
 * @param options - ε, window size and threshold mode.
 * @returns the band `[batch, masks, height, width]`, float32 in {0, 1}.
 */
export function boundaryBand(probs: tf.Tensor4D, options: BoundaryBandOptions = {}): tf.Tensor4D {
  const epsilon = requireInRange(options.epsilon ?? DEFAULT_BAND_EPSILON, 'epsilon', 0, 1);
  const kernel = requireOddKernel(options.kernel ?? DEFAULT_BAND_KERNEL, 'kernel');
  const mode = requireChoice(options.adaptiveThreshold ?? 'off', 'adaptiveThreshold', ['off', 'relative'] as const);
  checkProbs(probs);
  return tidy(() => thresholdGradient(gradientWithoutTape(kernel)(probs), epsilon, mode));
}
