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
    if (tokens < 2) return tf.scalar(0);
    const n = batch * (tokens - 1);
    const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [batch, tokens - 1, vocab]), [n, vocab]);
    const target = tf.reshape(tf.slice(tokenIds, [0, 1], [batch, tokens - 1]), [n]);
    const weight = tf.reshape(tf.slice(tf.cast(lossMask, 'float32'), [0, 1], [batch, tokens - 1]), [n]);
    // −log p(target) = logsumexp(row) − row[target]; the target logit is picked with a one-hot
    // product (cheap at this vocabulary size, and differentiable on every backend).
    const picked = tf.sum(tf.mul(pred, tf.oneHot(target, vocab)), -1);
    const nll = tf.sub(tf.logSumExp(pred, -1), picked);
    return tf.div(tf.sum(tf.mul(nll, weight)), tf.maximum(tf.sum(weight), 1)) as tf.Scalar;
  });
}
