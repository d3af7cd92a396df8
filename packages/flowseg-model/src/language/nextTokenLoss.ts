import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '@flowseg/core';

/** Inputs of {@link nextTokenCrossEntropy}. */
export interface NextTokenLossInputs {
  /** Next-token logits `[batch, tokens, vocab]`: row `t` scores token `t + 1`. */
  readonly logits: tf.Tensor3D;
  /** Token ids `[batch, tokens]` int32 (the targets are `tokenIds[:, 1:]`). */
  readonly tokenIds: tf.Tensor2D;
  /**
   * Which tokens are targets, `[batch, tokens]` (float32 weights, or int32/bool 0/1):
   * `lossMask[b, t] = 1` makes `tokenIds[b, t]` a target, predicted from `logits[b, t−1]`.
   * Mark the answer tokens (and its `<eos>`), not the prompt or padding. `lossMask[:, 0]`
   * is ignored (nothing predicts the first text token).
   */
  readonly lossMask: tf.Tensor2D;
}

/**
 * Masked next-token cross-entropy, the language-model loss of FlowSeg's training:
 * `L = Σ_{b,t≥1} m[b,t]·(−log softmax(logits[b,t−1])[tokenIds[b,t]]) / max(1, Σ_{b,t≥1} m[b,t])`.
 * A batch without any target gives 0 (not NaN). Differentiable w.r.t. `logits`.
 *
 * @returns scalar float32 loss.
 */
export function nextTokenCrossEntropy(inputs: NextTokenLossInputs): tf.Scalar {
  const { logits, tokenIds, lossMask } = inputs;
  const b = checkShapes({
    logits: { tensor: logits, axes: ['batch', 'tokens', 'vocab'], dtypes: ['float32'] },
    tokenIds: { tensor: tokenIds, axes: ['batch', 'tokens'], dtypes: ['int32'] },
    lossMask: { tensor: lossMask, axes: ['batch', 'tokens'], dtypes: ['float32', 'int32', 'bool'] },
  });
  const batch = b.batch!;
  const tokens = b.tokens!;
  const vocab = b.vocab!;
  return tf.tidy(() => {
    // Nothing to predict: 0, still connected to `logits` so optimizers find the variables.
    if (tokens < 2) return tf.mul(tf.sum(logits), 0) as tf.Scalar;
    const n = batch * tokens;
    // Shift targets and weights left instead of slicing the logits: row t is scored against
    // token t+1 and the last row gets weight 0 (a slice of the logits would cost a pad in the
    // backward pass).
    const shiftLeft = (x: tf.Tensor2D): tf.Tensor1D =>
      tf.reshape(tf.concat([tf.slice(x, [0, 1], [batch, tokens - 1]), tf.zeros([batch, 1], x.dtype)], 1), [n]);
    const target = shiftLeft(tokenIds);
    const weight = shiftLeft(tf.cast(lossMask, 'float32'));
    // −log p(target) from logSoftmax (its gradient is the cheap `dy − Σdy·softmax`); the target
    // entry is picked with a one-hot product, differentiable on every backend.
    const logProbs = tf.logSoftmax(tf.reshape(logits, [n, vocab]));
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(target, vocab)), -1);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, weight))), tf.maximum(tf.sum(weight), 1)) as tf.Scalar;
  });
}
