import * as tf from '@tensorflow/tfjs';
import type { SetCriterion, SegmentationTarget, MatchIndices } from '@flowseg/mask2former-decoder';
import type { FlowSegOutputs } from '../model/flowSegTypes.js';
import { nextTokenCrossEntropy } from '../language/nextTokenLoss.js';

/** Weights of the joint objective (stage 3). */
export interface JointLossWeights {
  /** Next-token loss of the language model (default 1). */
  readonly lm: number;
  /** Mask2Former's `L_seg` (its own λ_cls = 2, λ_dice = λ_mask = 5 inside; default 1). */
  readonly seg: number;
  /** Selection cross-entropy over candidates (default 2). */
  readonly selection: number;
}

/** Default joint weights. */
export const DEFAULT_JOINT_LOSS_WEIGHTS: JointLossWeights = { lm: 1, seg: 1, selection: 2 };

/** The joint loss and its parts (scalars; the caller owns them). */
export interface JointLoss {
  /** Weighted sum. */
  readonly total: tf.Scalar;
  /** Next-token loss. */
  readonly lm: tf.Scalar;
  /** `L_seg` summed over deep-supervision outputs. */
  readonly seg: tf.Scalar;
  /** Selection cross-entropy (0 when the batch has no target). */
  readonly selection: tf.Scalar;
  /** The query matched to each target row (what selection is trained to pick). */
  readonly matchedQuery: Int32Array;
}

/**
 * FlowSeg's stage-3 objective: `λ_lm·L_lm + λ_seg·L_seg + λ_sel·L_sel`, where `L_seg` is
 * Mask2Former's set criterion (Hungarian matching, class CE + BCE + dice, deep supervision)
 * applied per target row against that `<SEG>`'s mask, and `L_sel` trains the final selection:
 * cross-entropy of `softmax(scores)` with the query matched to the target in the final output.
 * The paper trains selection implicitly; this explicit term is our choice (documented).
 */
export function jointLoss(
  outputs: FlowSegOutputs,
  tokens: { ids: tf.Tensor2D; lossMask: tf.Tensor2D },
  rowTargets: readonly SegmentationTarget[],
  criterion: SetCriterion,
  weights: JointLossWeights = DEFAULT_JOINT_LOSS_WEIGHTS,
): JointLoss {
  const lm = nextTokenCrossEntropy({ logits: outputs.lmLogits, tokenIds: tokens.ids, lossMask: tokens.lossMask });
  const rows = outputs.batchIndex.length;
  if (rows === 0) {
    return tf.tidy(() => {
      const zero = tf.mul(tf.sum(outputs.scores), 0) as tf.Scalar;
      return {
        total: tf.mul(lm, weights.lm) as tf.Scalar,
        lm,
        seg: zero,
        selection: tf.clone(zero),
        matchedQuery: new Int32Array(0),
      };
    });
  }
  const seg = criterion.compute(
    { predLogits: outputs.classLogits, predMasks: outputs.candidateLogits, auxOutputs: outputs.auxOutputs },
    rowTargets,
  );
  const finalMatches = seg.matches[seg.matches.length - 1]!;
  const matchedQuery = Int32Array.from(finalMatches.map((m: MatchIndices) => m.queryIndices[0] ?? 0));
  const n = outputs.scores.shape[1];
  return tf.tidy(() => {
    const target = tf.oneHot(tf.tensor1d(matchedQuery, 'int32'), n);
    const selection = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(outputs.scores), target), -1))) as tf.Scalar;
    const total = tf.addN([tf.mul(lm, weights.lm), tf.mul(seg.total, weights.seg), tf.mul(selection, weights.selection)]) as tf.Scalar;
    tf.dispose(seg.perOutput.flatMap((o) => [o.classification, o.mask, o.dice]));
    return { total, lm, seg: seg.total, selection, matchedQuery };
  });
}
