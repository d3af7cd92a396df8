import * as tf from '@tensorflow/tfjs';
import { ValueError, checkShapes } from '@flowseg/core';

/** `BCEWithLogits(x, 1) = softplus(−x)` and `BCEWithLogits(x, 0) = softplus(x)`, numerically stable. */
function bcePositive(logits: tf.Tensor): tf.Tensor {
  return tf.softplus(tf.neg(logits));
}

/**
 * Sigmoid binary cross-entropy of matched masks (Mask2Former's `sigmoid_ce_loss`):
 * `Σ_masks mean_points BCEWithLogits(x, y) / numMasks`.
 *
 * @param logits - mask logits at sampled points `[masks, points]`.
 * @param labels - target values at the same points `[masks, points]` (0/1, or bilinear in between).
 * @param numMasks - normalizer (number of target masks, at least 1).
 * @returns scalar.
 */
export function sigmoidCrossEntropyLoss(logits: tf.Tensor2D, labels: tf.Tensor2D, numMasks: number): tf.Scalar {
  checkShapes({
    logits: { tensor: logits, axes: ['masks', 'points'], dtypes: ['float32'] },
    labels: { tensor: labels, axes: ['masks', 'points'], dtypes: ['float32'] },
  });
  return tf.tidy(() => {
    // BCE(x, y) = softplus(−x) + (1 − y)·x  (= y·softplus(−x) + (1 − y)·softplus(x)).
    const bce = tf.add(bcePositive(logits), tf.mul(tf.sub(1, labels), logits));
    return tf.div(tf.sum(tf.mean(bce, 1)), numMasks) as tf.Scalar;
  });
}

/**
 * Dice loss of matched masks (Mask2Former's `dice_loss`):
 * `Σ_masks [1 − (2·Σ p·y + 1) / (Σ p + Σ y + 1)] / numMasks`, `p = sigmoid(x)`.
 *
 * @param logits - mask logits at sampled points `[masks, points]`.
 * @param labels - target values `[masks, points]`.
 * @param numMasks - normalizer.
 * @returns scalar.
 */
export function diceLoss(logits: tf.Tensor2D, labels: tf.Tensor2D, numMasks: number): tf.Scalar {
  checkShapes({
    logits: { tensor: logits, axes: ['masks', 'points'], dtypes: ['float32'] },
    labels: { tensor: labels, axes: ['masks', 'points'], dtypes: ['float32'] },
  });
  return tf.tidy(() => {
    const probs = tf.sigmoid(logits);
    const numerator = tf.add(tf.mul(2, tf.sum(tf.mul(probs, labels), 1)), 1);
    const denominator = tf.add(tf.add(tf.sum(probs, 1), tf.sum(labels, 1)), 1);
    return tf.div(tf.sum(tf.sub(1, tf.div(numerator, denominator))), numMasks) as tf.Scalar;
  });
}

/**
 * Pairwise sigmoid BCE (the matcher's mask cost): entry `(q, t)` is the mean over points of
 * `BCEWithLogits(x_q, y_t)`, computed as two matmuls.
 *
 * @param logits - `[queries, points]`.
 * @param labels - `[targets, points]`.
 * @returns `[queries, targets]`.
 */
export function pairwiseSigmoidCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor2D {
  const b = checkShapes({
    logits: { tensor: logits, axes: ['queries', 'points'], dtypes: ['float32'] },
    labels: { tensor: labels, axes: ['targets', 'points'], dtypes: ['float32'] },
  });
  const points = b['points']!;
  return tf.tidy(() => {
    const pos = tf.div(bcePositive(logits), points);
    const neg = tf.div(tf.softplus(logits), points);
    return tf.add(tf.matMul(pos, labels, false, true), tf.matMul(neg, tf.sub(1, labels), false, true)) as tf.Tensor2D;
  });
}

/**
 * Pairwise dice loss (the matcher's dice cost): entry `(q, t)` is
 * `1 − (2·Σ p_q·y_t + 1) / (Σ p_q + Σ y_t + 1)`.
 *
 * @param logits - `[queries, points]`.
 * @param labels - `[targets, points]`.
 * @returns `[queries, targets]`.
 */
export function pairwiseDice(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor2D {
  checkShapes({
    logits: { tensor: logits, axes: ['queries', 'points'], dtypes: ['float32'] },
    labels: { tensor: labels, axes: ['targets', 'points'], dtypes: ['float32'] },
  });
  return tf.tidy(() => {
    const probs = tf.sigmoid(logits);
    const numerator = tf.add(tf.mul(2, tf.matMul(probs, labels, false, true)), 1);
    const denominator = tf.add(tf.add(tf.sum(probs, 1, true), tf.reshape(tf.sum(labels, 1), [1, -1])), 1);
    return tf.sub(1, tf.div(numerator, denominator)) as tf.Tensor2D;
  });
}

/**
 * Class cross-entropy with per-class weights, mean-reduced by the weights as PyTorch's
 * `F.cross_entropy(logits, target, weight)`: `Σ_i w[t_i]·CE_i / Σ_i w[t_i]`.
 *
 * @param logits - `[rows, classes]` (class logits incl. "no object").
 * @param targets - class index per row (`rows` entries).
 * @param classWeights - weight per class (`classes` entries; Mask2Former: 1, …, 1, 0.1).
 * @returns scalar.
 */
export function weightedCrossEntropy(
  logits: tf.Tensor2D,
  targets: Int32Array,
  classWeights: Float32Array,
): tf.Scalar {
  const b = checkShapes(
    { logits: { tensor: logits, axes: ['rows', 'classes'], dtypes: ['float32'] } },
    { rows: targets.length, classes: classWeights.length },
  );
  const rows = b['rows']!;
  const classes = b['classes']!;
  const weights = new Float32Array(rows);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const t = targets[i]!;
    if (!(t >= 0 && t < classes)) throw new ValueError(`targets: entry ${i} is ${t}, outside [0, ${classes})`, 'targets');
    weights[i] = classWeights[t]!;
    total += weights[i]!;
  }
  // All weights zero (e.g. no targets and noObjectWeight 0): nothing to learn from.
  if (total === 0) return tf.tidy(() => tf.mul(tf.sum(logits), 0) as tf.Scalar);
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), classes);
    const nll = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1));
    return tf.div(tf.sum(tf.mul(nll, tf.tensor1d(weights))), total) as tf.Scalar;
  });
}
