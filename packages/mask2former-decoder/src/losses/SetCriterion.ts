import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, requireBoolean, requireFinite, requirePositiveInt, tidy } from '@flowseg/core';
import { requireNonNegative } from '../config/validate.js';
import type { DecoderPrediction } from '../decoder/decoderTypes.js';
import { HungarianMatcher, checkPrediction, type HungarianMatcherConfig } from '../matching/HungarianMatcher.js';
import { readTargetLabels, type MatchIndices, type SegmentationTarget } from '../matching/targets.js';
import { samplePoints, samplePointsCpu } from '../sampling/pointSampling.js';
import { uncertaintyPointCoords } from '../sampling/uncertaintyPoints.js';
import { SeededRandom } from '../util/SeededRandom.js';
import { diceLoss, sigmoidCrossEntropyLoss, weightedCrossEntropy } from './maskLosses.js';

/** Configuration of {@link SetCriterion}. Defaults are Mask2Former's. */
export interface SetCriterionConfig {
  /** Object classes `K` without "no object" (default 1, like the decoder's). */
  numClasses?: number;
  /** Class-CE weight of the "no object" class (default 0.1). */
  noObjectWeight?: number;
  /** `λ_cls` (default 2). */
  classWeight?: number;
  /** `λ_mask`, sigmoid BCE (default 5). */
  maskWeight?: number;
  /** `λ_dice` (default 5). */
  diceWeight?: number;
  /** Points per matched mask for the mask losses (default 112² = 12544). */
  numPoints?: number;
  /** Candidates per point for importance sampling (default 3). */
  oversampleRatio?: number;
  /** Share of points picked by uncertainty (default 0.75; 0 = uniform points only). */
  importanceSampleRatio?: number;
  /** Sum the losses of every deep-supervision output (default true). */
  deepSupervision?: boolean;
  /** Matcher settings; its costs default to `classWeight`/`maskWeight`/`diceWeight` and its points to `numPoints`. */
  matcher?: HungarianMatcherConfig;
  /** Seed of the loss point sampler (default 0; the matcher gets `seed + 1` unless it has its own). */
  seed?: number;
}

/** The unweighted loss terms of one output. */
export interface LossTerms {
  /** Weighted-mean class cross-entropy (scalar). */
  readonly classification: tf.Scalar;
  /** Sigmoid BCE of matched masks, per mask mean over points, summed, divided by `numMasks` (scalar). */
  readonly mask: tf.Scalar;
  /** Dice loss of matched masks divided by `numMasks` (scalar). */
  readonly dice: tf.Scalar;
}

/** Result of {@link SetCriterion.compute}; the caller owns the tensors. */
export interface SetCriterionLosses {
  /** `Σ_outputs λ_cls·classification + λ_mask·mask + λ_dice·dice` (scalar). */
  readonly total: tf.Scalar;
  /** Terms per output: auxiliary outputs in order, the final output last. */
  readonly perOutput: readonly LossTerms[];
  /** Matches used, per output (same order), per image. */
  readonly matches: readonly (readonly MatchIndices[])[];
  /** Normalizer: number of target masks in the batch, at least 1. */
  readonly numMasks: number;
}

/** Decoder outputs as the criterion reads them: a final prediction plus optional auxiliary ones. */
export interface CriterionInputs extends DecoderPrediction {
  /** Deep-supervision predictions before the final one. */
  readonly auxOutputs?: readonly DecoderPrediction[];
}

/** Options of {@link SetCriterion.compute}. */
export interface ComputeLossOptions {
  /**
   * Matches to use instead of running the matcher, per output (in the order of
   * {@link SetCriterionLosses.perOutput}), per image — e.g. from {@link SetCriterion.matchAll}
   * on a GPU backend, where reading cost matrices synchronously is slow.
   */
  readonly matches?: readonly (readonly MatchIndices[])[];
}

/**
 * Mask2Former's `SetCriterion`: per output, Hungarian-match queries to targets, then
 * class CE over all queries (unmatched → "no object", weight 0.1), and sigmoid BCE + dice on
 * matched masks at points chosen by uncertainty (oversample 3, importance 0.75); weights
 * 2 / 5 / 5, summed over deep-supervision outputs, mask terms normalized by the number of target
 * masks. Images without targets contribute only "no object" CE. Every op trains on wasm.
 *
 * @example
 * ```ts
 * const criterion = new SetCriterion({ numClasses: 1 });
 * optimizer.minimize(() => criterion.compute(decoder.forward(inputs), targets).total);
 * ```
 */
export class SetCriterion {
  /** The resolved configuration (matcher excluded). */
  readonly config: Readonly<Required<Omit<SetCriterionConfig, 'matcher'>>>;
  /** The matcher. */
  readonly matcher: HungarianMatcher;
  private readonly rng: SeededRandom;
  private readonly classWeights: Float32Array;

  /** @throws ValueError naming the offending field. */
  constructor(config: SetCriterionConfig = {}) {
    const numPoints = requirePositiveInt(config.numPoints ?? 12544, 'numPoints');
    const importanceSampleRatio = requireNonNegative(config.importanceSampleRatio ?? 0.75, 'importanceSampleRatio');
    if (importanceSampleRatio > 1) {
      throw new ValueError(`importanceSampleRatio: expected a ratio in [0, 1], received ${importanceSampleRatio}`, 'importanceSampleRatio');
    }
    const oversampleRatio = requireFinite(config.oversampleRatio ?? 3, 'oversampleRatio');
    if (oversampleRatio < 1) {
      throw new ValueError(`oversampleRatio: expected a number ≥ 1, received ${oversampleRatio}`, 'oversampleRatio');
    }
    this.config = {
      numClasses: requirePositiveInt(config.numClasses ?? 1, 'numClasses'),
      noObjectWeight: requireNonNegative(config.noObjectWeight ?? 0.1, 'noObjectWeight'),
      classWeight: requireNonNegative(config.classWeight ?? 2, 'classWeight'),
      maskWeight: requireNonNegative(config.maskWeight ?? 5, 'maskWeight'),
      diceWeight: requireNonNegative(config.diceWeight ?? 5, 'diceWeight'),
      numPoints,
      oversampleRatio,
      importanceSampleRatio,
      deepSupervision: requireBoolean(config.deepSupervision ?? true, 'deepSupervision'),
      seed: requireFinite(config.seed ?? 0, 'seed'),
    };
    this.matcher = new HungarianMatcher({
      costClass: this.config.classWeight,
      costMask: this.config.maskWeight,
      costDice: this.config.diceWeight,
      numPoints,
      seed: this.config.seed + 1,
      ...config.matcher,
    });
    this.rng = new SeededRandom(this.config.seed);
    this.classWeights = new Float32Array(this.config.numClasses + 1).fill(1);
    this.classWeights[this.config.numClasses] = this.config.noObjectWeight;
  }

  /** The outputs the criterion supervises, in order (auxiliary first, final last). */
  supervisedOutputs(outputs: CriterionInputs): DecoderPrediction[] {
    const final = { predLogits: outputs.predLogits, predMasks: outputs.predMasks };
    return this.config.deepSupervision ? [...(outputs.auxOutputs ?? []), final] : [final];
  }

  /** Match every supervised output asynchronously (for {@link ComputeLossOptions.matches}). */
  async matchAll(outputs: CriterionInputs, targets: readonly SegmentationTarget[]): Promise<MatchIndices[][]> {
    const result: MatchIndices[][] = [];
    for (const output of this.supervisedOutputs(outputs)) result.push(await this.matcher.matchAsync(output, targets));
    return result;
  }

  /**
   * Compute the losses (differentiable in the predictions). Runs the matcher synchronously
   * unless `options.matches` is given.
   * @throws ShapeError / DTypeError / ValueError naming the offending input.
   */
  compute(
    outputs: CriterionInputs,
    targets: readonly SegmentationTarget[],
    options: ComputeLossOptions = {},
  ): SetCriterionLosses {
    const supervised = this.supervisedOutputs(outputs);
    const { numClasses } = this.config;
    const sizes = supervised.map((o) => checkPrediction(o, targets));
    sizes.forEach((s, i) => {
      if (s.classes !== numClasses + 1) {
        throw new ShapeError(
          i === supervised.length - 1 ? 'predLogits' : `auxOutputs[${i}].predLogits`,
          `[batch, queries, classes=${numClasses + 1}]`,
          supervised[i]!.predLogits.shape,
          `classes: ${s.classes} ≠ numClasses + 1 = ${numClasses + 1}`,
        );
      }
    });
    const labels = targets.map((t, b) => readTargetLabels(t, b, numClasses));
    const numMasks = Math.max(
      labels.reduce((n, l) => n + l.length, 0),
      1,
    );
    const given = options.matches;
    if (given && given.length !== supervised.length) {
      throw new ValueError(`matches: expected ${supervised.length} outputs, received ${given.length}`, 'matches');
    }
    const matches = supervised.map((o, i) => {
      const m = given ? given[i]! : this.matcher.match(o, targets);
      checkMatches(m, labels, sizes[i]!.queries, i);
      return m;
    });
    return tidy(() => {
      const perOutput = supervised.map((o, i) => this.outputLosses(o, targets, labels, matches[i]!, numMasks));
      const { classWeight, maskWeight, diceWeight } = this.config;
      const total = tf.addN(
        perOutput.map((t) =>
          tf.addN([tf.mul(t.classification, classWeight), tf.mul(t.mask, maskWeight), tf.mul(t.dice, diceWeight)]),
        ),
      ) as tf.Scalar;
      return { total, perOutput, matches, numMasks };
    });
  }

  /** Loss terms of one output given its matches. */
  private outputLosses(
    output: DecoderPrediction,
    targets: readonly SegmentationTarget[],
    labels: readonly Int32Array[],
    matches: readonly MatchIndices[],
    numMasks: number,
  ): LossTerms {
    const [batch, queries, classes] = output.predLogits.shape;
    const noObject = classes - 1;
    const targetClasses = new Int32Array(batch * queries).fill(noObject);
    const source: number[] = [];
    matches.forEach((m, b) => {
      m.queryIndices.forEach((q, k) => {
        targetClasses[b * queries + q] = labels[b]![m.targetIndices[k]!]!;
        source.push(b * queries + q);
      });
    });
    const classification = weightedCrossEntropy(
      tf.reshape(output.predLogits, [batch * queries, classes]) as tf.Tensor2D,
      targetClasses,
      this.classWeights,
    );
    if (source.length === 0) {
      // No target anywhere: mask terms are 0 (kept on the graph so gradients are defined).
      const zero = tf.mul(tf.sum(output.predMasks), 0) as tf.Scalar;
      return { classification, mask: zero, dice: zero.clone() };
    }
    const [, , h, w] = output.predMasks.shape;
    const matched = tf.gather(
      tf.reshape(output.predMasks, [batch * queries, h, w]),
      tf.tensor1d(source, 'int32'),
    ) as tf.Tensor3D;
    const coords = uncertaintyPointCoords(matched, this.rng, this.config);
    const pointLabels = targetPointLabels(targets, matches, coords);
    const pointLogits = samplePoints(matched, coords);
    return {
      classification,
      mask: sigmoidCrossEntropyLoss(pointLogits, pointLabels, numMasks),
      dice: diceLoss(pointLogits, pointLabels, numMasks),
    };
  }
}

/**
 * Target masks at the matched masks' points, rows in match order: `[matched, points]`.
 * Targets and points are constants, so this is sampled in plain JS from one read of each
 * target's masks.
 */
function targetPointLabels(
  targets: readonly SegmentationTarget[],
  matches: readonly MatchIndices[],
  coords: tf.Tensor3D,
): tf.Tensor2D {
  const [rows, points] = coords.shape;
  const c = coords.dataSync();
  const out = new Float32Array(rows * points);
  let row = 0;
  matches.forEach((m, b) => {
    if (m.targetIndices.length === 0) return;
    const masks = targets[b]!.masks;
    const [, h, w] = masks.shape;
    const data = masks.dataSync();
    m.targetIndices.forEach((t) => {
      const sampled = samplePointsCpu(
        data.subarray(t * h * w, (t + 1) * h * w),
        1,
        h,
        w,
        c.subarray(row * points * 2, (row + 1) * points * 2),
        points,
      );
      out.set(sampled, row * points);
      row += 1;
    });
  });
  return tf.tensor2d(out, [rows, points]);
}

/** @throws ValueError when given matches do not fit the targets and queries. */
function checkMatches(matches: readonly MatchIndices[], labels: readonly Int32Array[], queries: number, output: number): void {
  const field = 'matches';
  if (matches.length !== labels.length) {
    throw new ValueError(`${field}: output ${output} has ${matches.length} images, expected ${labels.length}`, field);
  }
  matches.forEach((m, b) => {
    const expected = Math.min(labels[b]!.length, queries);
    if (m.queryIndices.length !== expected || m.targetIndices.length !== expected) {
      throw new ValueError(`${field}: output ${output}, image ${b}: expected ${expected} pairs`, field);
    }
    const seenQ = new Set<number>();
    const seenT = new Set<number>();
    m.queryIndices.forEach((q, k) => {
      const t = m.targetIndices[k]!;
      if (q < 0 || q >= queries || t < 0 || t >= labels[b]!.length || seenQ.has(q) || seenT.has(t)) {
        throw new ValueError(`${field}: output ${output}, image ${b}: pair ${k} (${q}, ${t}) is out of range or repeated`, field);
      }
      seenQ.add(q);
      seenT.add(t);
    });
  });
}
