import * as tf from '@tensorflow/tfjs';
import { ValueError } from '@flowseg/core';
import type { SetCriterion } from '@flowseg/mask2former-decoder';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import type { ReferringExample } from '../data/ReferringExample.js';
import { imageBatch } from '../data/imageBatch.js';
import { sequenceBatch, type SequenceBatch } from '../data/sequenceBatch.js';
import { disposeTargets, maskTarget } from './maskTargets.js';
import { jointLoss, DEFAULT_JOINT_LOSS_WEIGHTS, type JointLossWeights } from './flowSegLosses.js';
import { nextTokenCrossEntropy } from '../language/nextTokenLoss.js';
import { attributeLoss } from './attributeLoss.js';

/** The paper's three training stages. */
export type TrainingStage = 'segmentor' | 'alignment' | 'joint';

/** Every stage, in training order. */
export const TRAINING_STAGES: readonly TrainingStage[] = ['segmentor', 'alignment', 'joint'];

/** Prompt of the alignment stage: the answer is the scene description. */
export const DESCRIBE_PROMPT = 'describe the image';

/** Child layers each stage trains (stage 3 trains everything). */
const STAGE_CHILDREN: Record<TrainingStage, readonly string[] | null> = {
  segmentor: ['segmentation_encoder', 'pixel_position', 'pixel_decoder', 'decoder', 'bar', 'attribute_head'],
  alignment: ['vision_encoder', 'language_model', 'object_tokens'],
  joint: null,
};

/**
 * Parameters a stage updates, by stable name; with `trainOnly`, only those whose names start
 * with one of its prefixes.
 * @throws ValueError when `trainOnly` is empty or selects none of the stage's parameters.
 */
export function stageParameters(model: FlowSegModel, stage: TrainingStage, trainOnly?: readonly string[]): Map<string, tf.Variable> {
  if (trainOnly !== undefined && (!Array.isArray(trainOnly) || trainOnly.length === 0 || trainOnly.some((p) => typeof p !== 'string' || p === ''))) {
    throw new ValueError(`trainOnly: expected a non-empty list of parameter-name prefixes, received ${JSON.stringify(trainOnly)}`, 'trainOnly');
  }
  const children = STAGE_CHILDREN[stage];
  const out = new Map<string, tf.Variable>();
  for (const [name, v] of model.namedWeights()) {
    if (!v.trainable) continue;
    if (children && !children.some((c) => name.startsWith(`${c}.`))) continue;
    if (trainOnly && !trainOnly.some((p) => name.startsWith(p))) continue;
    out.set(name, v.read() as tf.Variable);
  }
  if (trainOnly && out.size === 0) {
    throw new ValueError(`trainOnly: no parameter of the ${stage} stage starts with ${trainOnly.join(' or ')}`, 'trainOnly');
  }
  return out;
}

/** Scalars a stage reports besides the total (plain numbers, read after the step). */
export type StageMetrics = Record<string, number>;

/** What one stage step computes: the loss to minimize and how to read its parts afterwards. */
export interface StageObjective {
  /** Builds the loss (called inside the gradient tape). */
  readonly loss: () => tf.Scalar;
  /** Parts of the last loss as numbers (call after the step). */
  readonly metrics: () => StageMetrics;
  /** Free the batch tensors. */
  readonly dispose: () => void;
}

/**
 * The objective of one training step of `stage` on `examples`:
 * - `segmentor`: Mask2Former's set criterion on class-agnostic instance masks (every object
 *   of the scene), no text; plus, when the model has an attribute head, `L_attr` on the
 *   matched queries (see {@link attributeLoss}; the examples must carry `instanceAttributes`);
 * - `alignment`: next-token loss of the language model on the scene description, with the
 *   image tokens as prefix;
 * - `joint`: next-token loss on the answer + `L_seg` per `<SEG>` target + selection loss (only the
 *   next-token loss with `options.answersOnly`); with
 *   `options.jointAttributes` (needs an attribute head, and examples with `instanceAttributes` and
 *   `targetInstances`) also {@link attributeLoss} of each target's matched query and of its
 *   condition `c` (the mean of its tied refined conditions), both through the same head, so that
 *   the phrase side and the object side are pushed to name the same attributes.
 * `loss` must run inside a gradient scope (`tf.variableGrads`), which frees its intermediates.
 */
export function stageObjective(
  model: FlowSegModel,
  stage: TrainingStage,
  examples: readonly ReferringExample[],
  criterion: SetCriterion,
  weights: JointLossWeights = DEFAULT_JOINT_LOSS_WEIGHTS,
  options: StageObjectiveOptions = {},
): StageObjective {
  const { height, width } = model.config.image;
  if (options.answersOnly && options.jointAttributes) {
    throw new ValueError('answersOnly: cannot be combined with jointAttributes (no masks are computed)', 'answersOnly');
  }
  if (options.jointAttributes && !model.attributeHead) {
    throw new ValueError('jointAttributes: the model has no attribute head (set attributeClasses in its config)', 'jointAttributes');
  }
  // Checked before any tensor exists, so a bad example leaks nothing.
  const attributes =
    (stage === 'segmentor' && model.attributeHead) || (stage === 'joint' && options.jointAttributes)
      ? examples.map((e, i) => requireAttributes(e, i))
      : [];
  const targetAttributes = stage === 'joint' && options.jointAttributes ? examples.flatMap((e, i) => requireTargetAttributes(e, i, attributes[i]!)) : [];
  const images = imageBatch(examples);
  const parts: Record<string, tf.Scalar | null> = {};
  const keep = (name: string, t: tf.Scalar) => {
    parts[name]?.dispose();
    parts[name] = tf.keep(tf.clone(t));
  };
  const metrics = () => Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v ? v.dataSync()[0]! : NaN]));
  const disposeParts = () => tf.dispose(Object.values(parts).filter((v): v is tf.Scalar => v !== null));
  const maxTokens = model.config.languageModel.maxPositions - model.numPrefixTokens;
  if (stage === 'segmentor') {
    const head = model.attributeHead;
    const targets = examples.map((e) => maskTarget(e.instanceMasks, height, width));
    return {
      loss: () => {
        const out = model.segmentorForward(images, true);
        const losses = criterion.compute(out, targets);
        keep('seg', losses.total);
        if (!head) return losses.total;
        const attr = attributeLoss(head, out.queries, losses.matches[losses.matches.length - 1]!, attributes);
        keep('attributes', attr);
        return tf.add(losses.total, attr) as tf.Scalar;
      },
      metrics,
      dispose: () => (disposeTargets(targets), images.dispose(), disposeParts()),
    };
  }
  if (stage === 'alignment') {
    const seq = sequenceBatch(
      model.tokenizer,
      examples.map((e) => {
        if (!e.description) throw new ValueError('examples: the alignment stage needs a description per example', 'examples');
        return { prompt: DESCRIBE_PROMPT, answer: e.description };
      }),
      maxTokens,
    );
    return nextTokenObjective(model, images, seq, keep, metrics, disposeParts);
  }
  if (stage !== 'joint') throw new ValueError(`stage: expected one of segmentor, alignment, joint, received ${String(stage)}`, 'stage');
  if (options.answersOnly) {
    return nextTokenObjective(model, images, sequenceBatch(model.tokenizer, examples, maxTokens), keep, metrics, disposeParts);
  }
  const seq = sequenceBatch(model.tokenizer, examples, maxTokens);
  const ids = tf.tensor2d(seq.ids, undefined, 'int32');
  const lossMask = tf.tensor2d(seq.lossMask, undefined, 'float32');
  // One target per <SEG>, in the order the model's rows come out (batch item, then SEG).
  const rowTargets = examples.flatMap((e) => e.targetMasks.map((m) => maskTarget([m], height, width)));
  return {
    loss: () => {
      const out = model.forward({ images, tokenIds: seq.ids, attentionMask: seq.attentionMask, training: true });
      if (out.batchIndex.length !== rowTargets.length) {
        throw new ValueError(
          `examples: the answers hold ${out.batchIndex.length} <SEG> tokens but ${rowTargets.length} target masks`,
          'examples',
        );
      }
      const loss = jointLoss(out, { ids, lossMask }, rowTargets, criterion, weights);
      keep('lm', loss.lm);
      keep('seg', loss.seg);
      keep('selection', loss.selection);
      if (!options.jointAttributes || targetAttributes.length === 0) return loss.total;
      const head = model.attributeHead!;
      // Object side: each target's matched query; phrase side: its condition c (rows with a phrase).
      const one = (q: number) => ({ queryIndices: Int32Array.of(q), targetIndices: Int32Array.of(0) });
      const objects = attributeLoss(head, out.queries, Array.from(loss.matchedQuery, one), targetAttributes.map((a) => [a]));
      const counts = tf.tidy(() => tf.sum(out.conditionMask, -1).dataSync());
      const withPhrase = targetAttributes.map((_, r) => r).filter((r) => counts[r]! > 0);
      const phrases = tf.tidy(() => {
        if (withPhrase.length === 0) return tf.mul(tf.sum(out.conditions), 0) as tf.Scalar;
        const rows = tf.tensor1d(withPhrase, 'int32');
        const m = tf.expandDims(tf.gather(out.conditionMask, rows), 2);
        const c = tf.div(tf.sum(tf.mul(tf.gather(out.conditions, rows), m), 1), tf.sum(m, 1)); // [R', D]
        const cs = tf.expandDims(c, 1) as tf.Tensor3D;
        return attributeLoss(head, cs, withPhrase.map(() => one(0)), withPhrase.map((r) => [targetAttributes[r]!]));
      });
      keep('attributes', objects);
      keep('conditionAttributes', phrases);
      return tf.addN([loss.total, objects, phrases]) as tf.Scalar;
    },
    metrics,
    dispose: () => (disposeTargets(rowTargets), tf.dispose([ids, lossMask, images]), disposeParts()),
  };
}

/** Options of {@link stageObjective}. */
export interface StageObjectiveOptions {
  /** Joint stage: add attribute supervision of each target's matched query and condition (see {@link stageObjective}). */
  readonly jointAttributes?: boolean;
  /**
   * Joint stage: only the next-token loss of the answers (image tokens, prompt, answer), no
   * decoder, masks or selection — for training language-side parts alone, e.g. a `CopyHead`
   * (with `trainStage`'s `trainOnly`). Not with `jointAttributes`.
   */
  readonly answersOnly?: boolean;
}

/** Next-token loss of the language model on `seq`'s answers, the image tokens as prefix. */
function nextTokenObjective(
  model: FlowSegModel,
  images: tf.Tensor4D,
  seq: SequenceBatch,
  keep: (name: string, t: tf.Scalar) => void,
  metrics: () => StageMetrics,
  disposeParts: () => void,
): StageObjective {
  const ids = tf.tensor2d(seq.ids, undefined, 'int32');
  const mask = tf.tensor2d(seq.attentionMask, undefined, 'int32');
  const lossMask = tf.tensor2d(seq.lossMask, undefined, 'float32');
  return {
    loss: () => {
      const imageTokens = model.languagePrefix(images);
      const logits = model.languageModel.logits({ imageTokens, tokenIds: ids, attentionMask: mask });
      const lm = nextTokenCrossEntropy({ logits, tokenIds: ids, lossMask });
      keep('lm', lm);
      return lm;
    },
    metrics,
    dispose: () => (tf.dispose([ids, mask, lossMask, images]), disposeParts()),
  };
}

/** The attribute rows of the example's targets (via `targetInstances`), or a clear error. */
function requireTargetAttributes(
  example: ReferringExample,
  index: number,
  attributes: readonly (readonly number[])[],
): (readonly number[])[] {
  const targets = example.targetInstances;
  if (!targets || targets.length !== example.targetMasks.length) {
    throw new ValueError(
      `examples[${index}].targetInstances: joint attribute supervision needs one instance index per target mask (${example.targetMasks.length}), received ${targets ? targets.length : 'none'}`,
      'examples',
    );
  }
  return targets.map((t, k) => {
    if (!Number.isInteger(t) || t < 0 || t >= attributes.length) {
      throw new ValueError(`examples[${index}].targetInstances[${k}]: expected an object in [0, ${attributes.length}), received ${t}`, 'examples');
    }
    return attributes[t]!;
  });
}

/** The example's per-object attributes (one row per instance mask), or a clear error. */
function requireAttributes(example: ReferringExample, index: number): readonly (readonly number[])[] {
  const attributes = example.instanceAttributes;
  if (!attributes || attributes.length !== example.instanceMasks.length) {
    throw new ValueError(
      `examples[${index}].instanceAttributes: the model has an attribute head, so every example needs one attribute row per instance mask (${example.instanceMasks.length}), received ${attributes ? attributes.length : 'none'}`,
      'examples',
    );
  }
  return attributes;
}
