import * as tf from '@tensorflow/tfjs';
import { ShapeError, checkShapes, requireFinite, requirePositiveInt } from '@flowseg/core';
import { requireNonNegative } from '../config/validate.js';
import type { DecoderPrediction } from '../decoder/decoderTypes.js';
import { pairwiseDice, pairwiseSigmoidCrossEntropy } from '../losses/maskLosses.js';
import { sampleSharedPoints } from '../sampling/pointSampling.js';
import { uniformPointCoords } from '../sampling/uncertaintyPoints.js';
import { SeededRandom } from '../util/SeededRandom.js';
import { detached } from '../util/detached.js';
import { linearSumAssignment } from './linearSumAssignment.js';
import { readTargetLabels, type MatchIndices, type SegmentationTarget } from './targets.js';

/** Configuration of {@link HungarianMatcher}. Defaults are Mask2Former's. */
export interface HungarianMatcherConfig {
  /** Weight of the class cost `−p[target class]` (default 2). */
  costClass?: number;
  /** Weight of the sigmoid-BCE mask cost (default 5). */
  costMask?: number;
  /** Weight of the dice cost (default 5). */
  costDice?: number;
  /** Uniform random points shared by predictions and targets of an image (default 112² = 12544). */
  numPoints?: number;
  /** Seed of the point sampler (default 0); each call draws new points from it. */
  seed?: number;
}

/** A {@link HungarianMatcherConfig} with defaults applied. */
export interface ResolvedHungarianMatcherConfig {
  /** Class cost weight. */
  readonly costClass: number;
  /** Mask cost weight. */
  readonly costMask: number;
  /** Dice cost weight. */
  readonly costDice: number;
  /** Points per image. */
  readonly numPoints: number;
  /** Sampler seed. */
  readonly seed: number;
}

/** Largest magnitude kept in a cost matrix (Mask2Former clamps to ±1e10 and maps NaN to 0). */
const COST_LIMIT = 1e10;

/**
 * Mask2Former's bipartite matcher: cost `λ_cls·(−p[c]) + λ_mask·BCE + λ_dice·dice` between
 * every query and every target of an image, mask costs evaluated at random points shared by
 * prediction and target (bilinear sampling), then an exact Hungarian assignment
 * ({@link linearSumAssignment}). No gradient.
 */
export class HungarianMatcher {
  /** The resolved configuration. */
  readonly config: ResolvedHungarianMatcherConfig;
  private readonly rng: SeededRandom;

  /** @throws ValueError naming the offending field. */
  constructor(config: HungarianMatcherConfig = {}) {
    this.config = {
      costClass: requireNonNegative(config.costClass ?? 2, 'costClass'),
      costMask: requireNonNegative(config.costMask ?? 5, 'costMask'),
      costDice: requireNonNegative(config.costDice ?? 5, 'costDice'),
      numPoints: requirePositiveInt(config.numPoints ?? 12544, 'numPoints'),
      seed: requireFinite(config.seed ?? 0, 'seed'),
    };
    this.rng = new SeededRandom(this.config.seed);
  }

  /**
   * Cost matrices, one per image: `[queries, targets]` (`[queries, 0]` for an image without
   * targets). The caller owns them.
   */
  costMatrices(prediction: DecoderPrediction, targets: readonly SegmentationTarget[]): tf.Tensor2D[] {
    const { queries, classes } = checkPrediction(prediction, targets);
    const { costClass, costMask, costDice, numPoints } = this.config;
    // Validate every target before creating any tensor.
    const allLabels = targets.map((target, b) => readTargetLabels(target, b, classes - 1));
    return targets.map((target, b) => {
      const labels = allLabels[b]!;
      if (labels.length === 0) return tf.zeros([queries, 0]) as tf.Tensor2D;
      const coords = tf.tensor2d(this.rng.uniform(numPoints * 2), [numPoints, 2]);
      try {
        return detached(() =>
          tf.tidy(() => {
            const logits = tf.reshape(tf.slice(prediction.predLogits, [b, 0, 0], [1, -1, -1]), [queries, classes]);
            const probs = tf.softmax(logits);
            const classCost = tf.neg(tf.gather(probs, tf.tensor1d(labels, 'int32'), 1));
            const [, , h, w] = prediction.predMasks.shape;
            const masks = tf.reshape(tf.slice(prediction.predMasks, [b, 0, 0, 0], [1, -1, -1, -1]), [queries, h, w]);
            const predPoints = sampleSharedPoints(masks as tf.Tensor3D, coords);
            const targetPoints = sampleSharedPoints(target.masks, coords);
            const cost = tf.addN([
              tf.mul(pairwiseSigmoidCrossEntropy(predPoints, targetPoints), costMask),
              tf.mul(classCost, costClass),
              tf.mul(pairwiseDice(predPoints, targetPoints), costDice),
            ]);
            return cost as tf.Tensor2D;
          }),
        );
      } finally {
        coords.dispose();
      }
    });
  }

  /** Match every image (reads the cost matrices synchronously). */
  match(prediction: DecoderPrediction, targets: readonly SegmentationTarget[]): MatchIndices[] {
    const costs = this.costMatrices(prediction, targets);
    try {
      return costs.map((c) => assign(c.dataSync() as Float32Array, c.shape[0], c.shape[1]));
    } finally {
      tf.dispose(costs);
    }
  }

  /** Like {@link HungarianMatcher.match}, reading the cost matrices asynchronously (GPU backends). */
  async matchAsync(prediction: DecoderPrediction, targets: readonly SegmentationTarget[]): Promise<MatchIndices[]> {
    const costs = this.costMatrices(prediction, targets);
    try {
      const values = await Promise.all(costs.map((c) => c.data() as Promise<Float32Array>));
      return values.map((v, i) => assign(v, costs[i]!.shape[0], costs[i]!.shape[1]));
    } finally {
      tf.dispose(costs);
    }
  }
}

function assign(values: Float32Array, rows: number, cols: number): MatchIndices {
  const cost = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    cost[i] = Number.isNaN(v) ? 0 : Math.min(COST_LIMIT, Math.max(-COST_LIMIT, v));
  }
  const { rowIndices, colIndices } = linearSumAssignment(cost, rows, cols);
  return { queryIndices: rowIndices, targetIndices: colIndices };
}

/** @internal Checks a prediction against the targets; returns its sizes. */
export function checkPrediction(
  prediction: DecoderPrediction,
  targets: readonly SegmentationTarget[],
): { batch: number; queries: number; classes: number } {
  const b = checkShapes({
    predLogits: { tensor: prediction.predLogits, axes: ['batch', 'queries', 'classes'], dtypes: ['float32'] },
    predMasks: { tensor: prediction.predMasks, axes: ['batch', 'queries', 'height', 'width'], dtypes: ['float32'] },
  });
  if (!Array.isArray(targets) || targets.length !== b['batch']) {
    throw new ShapeError(
      'targets',
      `one target per image (batch=${b['batch']})`,
      [Array.isArray(targets) ? targets.length : 0],
      'number of targets differs from the batch',
    );
  }
  return { batch: b['batch']!, queries: b['queries']!, classes: b['classes']! };
}
