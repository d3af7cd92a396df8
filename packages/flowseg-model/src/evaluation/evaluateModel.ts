import * as tf from '@tensorflow/tfjs';
import { ValueError, requirePositiveInt } from '@flowseg/core';
import type { PixelDecoderOutputs } from '@flowseg/mask2former-decoder';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import type { ReferringExample } from '../data/ReferringExample.js';
import { imageBatch } from '../data/imageBatch.js';
import { finishGeneratedAnswer } from '../inference/repairAnswer.js';
import { greedyAnswers } from '../inference/greedyAnswers.js';
import { textBudget } from '../inference/segment.js';
import { maskOverlap, sampleIoU, type MaskOverlap } from './maskIoU.js';
import { segmentationMetrics, oracleCIoU, type SegmentationMetrics } from './segmentationMetrics.js';

/** How answers are obtained during evaluation. */
export type AnswerMode = 'generated' | 'teacher-forced';

/** Options of {@link evaluateModel}. */
export interface EvaluateOptions {
  /** `'generated'` (default): the language model writes the answer greedily, as at inference
   * (and repaired the way `segment()` repairs it: malformed phrase tags never throw);
   * `'teacher-forced'`: the reference answer is fed (isolates the segmentation side). */
  readonly answers?: AnswerMode;
  /** Examples per forward pass (default 16). */
  readonly batchSize?: number;
  /** Longest generated answer in tokens (default 24). */
  readonly maxNewTokens?: number;
}

/** Per-sample results, in input order. */
export interface SampleResult {
  /** Overlap of the predicted mask (union of every target's selected mask) with the reference (union of its targets). */
  readonly overlap: MaskOverlap;
  /** IoU of that overlap (empty + empty = 1). */
  readonly iou: number;
  /** Best-candidate overlap (selection bypassed) — teacher-forced answers only, else null. */
  readonly oracle: MaskOverlap | null;
  /** The answer the model was run on. */
  readonly answer: string;
  /** Whether the number of `<SEG>` matched the number of targets. */
  readonly targetCountCorrect: boolean;
}

/** Result of {@link evaluateModel}. */
export interface EvaluationResult {
  /** cIoU / gIoU over all samples. */
  readonly metrics: SegmentationMetrics;
  /** Oracle cIoU (teacher-forced answers only; null otherwise). */
  readonly oracleCIoU: number | null;
  /** Per-sample results. */
  readonly samples: readonly SampleResult[];
}

function union(masks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (const m of masks) for (let i = 0; i < size; i++) if (m[i]) out[i] = 1;
  return out;
}

/**
 * Evaluate a model on referring examples. Each sample's prediction is the union of the
 * selected masks of all its `<SEG>` targets at image resolution (logit > 0), compared with the
 * union of its reference targets; a sample without targets scores 1 when nothing is predicted
 * (gRefCOCO's convention). With teacher-forced answers the oracle (best candidate per target,
 * selection bypassed) is measured too, row `k` against target `k`. Tensors are only read
 * asynchronously, so it runs on every backend, webgpu in Node included.
 * @throws ValueError naming `answers` or `maxNewTokens` (not a positive integer, or more tokens
 * than the language model has positions left after the prefix and the longest prompt).
 */
export async function evaluateModel(
  model: FlowSegModel,
  examples: readonly ReferringExample[],
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const mode = options.answers ?? 'generated';
  if (mode !== 'generated' && mode !== 'teacher-forced') {
    throw new ValueError(`answers: expected 'generated' or 'teacher-forced', received ${String(mode)}`, 'answers');
  }
  const batchSize = options.batchSize ?? 16;
  const tok = model.tokenizer;
  const { height, width } = model.config.image;
  const samples: SampleResult[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = examples.slice(start, start + batchSize);
    const images = imageBatch(batch);
    let prefix: tf.Tensor3D | null = null;
    let pixels: PixelDecoderOutputs | null = null;
    try {
      // Generated answers read the language model's prefix; forward reuses it and its pixel features.
      if (mode === 'generated') {
        pixels = model.pixelFeatures(images);
        prefix = model.languagePrefix(images, pixels);
      }
      const answers = prefix === null ? batch.map((e) => e.answer) : await generateAnswers(model, prefix, batch, options.maxNewTokens ?? 24);
      const rows = batch.map((e, i) => [...tok.encode(e.prompt, { addBos: true }), ...tok.encode(answers[i]!, { addEos: true })]);
      const length = Math.max(...rows.map((r) => r.length));
      const ids = rows.map((r) => [...r, ...new Array<number>(length - r.length).fill(tok.padId)]);
      const mask = rows.map((r) => Array.from({ length }, (_, t) => (t < r.length ? 1 : 0)));
      const out = model.forward({ images, tokenIds: ids, attentionMask: mask, auxOutputs: false, ...(prefix && pixels ? { languagePrefix: prefix, pixelFeatures: pixels } : {}) });
      try {
        const selected = tf.tidy(() => tf.greater(model.upsampleToImage(out.selectedLogits), 0));
        const sel = await selected.data();
        selected.dispose();
        const candidates =
          mode === 'teacher-forced'
            ? await tf.tidy(() => {
                const [r, n, mh, mw] = out.candidateLogits.shape;
                const up = model.upsampleToImage(tf.reshape(out.candidateLogits, [r * n, mh, mw]) as tf.Tensor3D);
                return tf.greater(up, 0);
              }).data()
            : null;
        const n = out.candidateLogits.shape[1];
        const size = height * width;
        batch.forEach((e, i) => {
          const rowIds = [...out.batchIndex.keys()].filter((r) => out.batchIndex[r] === i);
          const predicted = union(rowIds.map((r) => sel.subarray(r * size, (r + 1) * size) as Uint8Array), size);
          const overlap = maskOverlap(predicted, union(e.targetMasks, size));
          let oracle: MaskOverlap | null = null;
          if (candidates) {
            // Best candidate per target row (row k ↔ target k), accumulated over the sample's targets.
            let inter = 0;
            let uni = 0;
            e.targetMasks.forEach((target, k) => {
              const r = rowIds[k];
              if (r === undefined) {
                uni += target.reduce((a, v) => a + (v ? 1 : 0), 0);
                return;
              }
              let best: MaskOverlap = { intersection: 0, union: 1 };
              for (let q = 0; q < n; q++) {
                const o = maskOverlap(candidates.subarray((r * n + q) * size, (r * n + q + 1) * size), target);
                if (sampleIoU(o) > sampleIoU(best)) best = o;
              }
              inter += best.intersection;
              uni += best.union;
            });
            oracle = { intersection: inter, union: uni };
          }
          samples.push({
            overlap,
            iou: sampleIoU(overlap),
            oracle,
            answer: answers[i]!,
            targetCountCorrect: rowIds.length === e.targetMasks.length,
          });
        });
      } finally {
        tf.dispose(Object.values(out).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
        tf.dispose(out.auxOutputs.flatMap((a) => [a.predLogits, a.predMasks]));
      }
    } finally {
      images.dispose();
      prefix?.dispose();
      if (pixels) tf.dispose([...pixels.features, pixels.maskFeatures]);
    }
  }
  return {
    metrics: segmentationMetrics(samples.map((s) => s.overlap)),
    oracleCIoU: mode === 'teacher-forced' ? oracleCIoU(samples.map((s) => [s.oracle!])) : null,
    samples,
  };
}

/**
 * Greedy answers for a batch (prompts left-padded) from the images' language-model prefix,
 * decoded to text without `<eos>`. Tokens are read with `await data()`, so this runs on backends
 * without synchronous reads (webgpu).
 */
async function generateAnswers(model: FlowSegModel, prefix: tf.Tensor3D, batch: readonly ReferringExample[], maxNewTokens: number): Promise<string[]> {
  requirePositiveInt(maxNewTokens, 'maxNewTokens');
  const tok = model.tokenizer;
  const prompts = batch.map((e) => tok.encode(e.prompt, { addBos: true }));
  const length = Math.max(...prompts.map((p) => p.length));
  const budget = textBudget(model);
  if (maxNewTokens > budget - length) {
    throw new ValueError(
      `maxNewTokens: ${maxNewTokens} new tokens after ${model.numPrefixTokens} image/object + ${length} prompt tokens exceed ` +
        `maxPositions=${model.config.languageModel.maxPositions}`,
      'maxNewTokens',
    );
  }
  const generated = await greedyAnswers(model.languageModel, prefix, prompts, tok.padId, maxNewTokens, tok.eosId);
  return generated.map((row, i) => tok.decode(finishGeneratedAnswer(row, tok, { promptLength: prompts[i]!.length, budget, maxNewTokens }).ids));
}
