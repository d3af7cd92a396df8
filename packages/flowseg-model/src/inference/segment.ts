import * as tf from '@tensorflow/tfjs';
import { ValueError, requireBoolean } from '@flowseg/core';
import type { PixelDecoderOutputs } from '@flowseg/mask2former-decoder';
import { FlowSegModel } from '../model/FlowSegModel.js';
import type { FlowSegOutputs } from '../model/flowSegTypes.js';
import { pretokenize } from '../tokenizer/pretokenize.js';
import type { BinaryMask, MaskLogits } from '../image/imageTypes.js';
import { prepareImage, type SegmentImage } from './imageInput.js';
import { segmentationPrompt } from './segmentationPrompt.js';
import { finishGeneratedAnswer, repairAnswerIds, type RepairedAnswer } from './repairAnswer.js';
import { disposeFlowSegOutputs } from './disposeOutputs.js';
import { greedyAnswers } from './greedyAnswers.js';
import type {
  CandidateMasks,
  LayerPrediction,
  SegmentBatchOptions,
  SegmentCandidate,
  SegmentOptions,
  SegmentRequest,
  SegmentResult,
  SegmentTarget,
} from './segmentTypes.js';

/** Default cap on generated answer tokens. */
const DEFAULT_MAX_NEW_TOKENS = 32;
const CANDIDATE_MODES: readonly CandidateMasks[] = ['image', 'mask', 'none'];

interface ResolvedOptions {
  readonly maxNewTokens: number | null;
  readonly logitThreshold: number;
  readonly candidates: CandidateMasks;
  readonly layers: boolean;
}

/** Names of a request's fields in error messages. */
type ArgumentName = (index: number, field: 'image' | 'expression' | 'answer') => string;

/** A request after the text-side checks. */
interface TextPlan {
  readonly prompt: string;
  readonly promptIds: number[];
  readonly unknownWords: string[];
  readonly answerIds: number[] | null;
}

/** Everything known about a request once its answer is fixed. */
interface SequencePlan extends TextPlan {
  readonly answer: number[];
  readonly repairs: string[];
}

function resolveOptions(options: SegmentBatchOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new ValueError('options: expected an object', 'options');
  const { maxNewTokens, maskThreshold = 0.5, candidates = 'image', layers = false } = options;
  if (maxNewTokens !== undefined && (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0)) {
    throw new ValueError(`maxNewTokens: expected a positive integer, received ${String(maxNewTokens)}`, 'maxNewTokens');
  }
  if (typeof maskThreshold !== 'number' || !(maskThreshold > 0 && maskThreshold < 1)) {
    throw new ValueError(`maskThreshold: expected a probability in (0, 1), received ${String(maskThreshold)}`, 'maskThreshold');
  }
  if (!CANDIDATE_MODES.includes(candidates)) {
    throw new ValueError(`candidates: expected one of ${CANDIDATE_MODES.join(', ')}, received ${JSON.stringify(candidates)}`, 'candidates');
  }
  requireBoolean(layers, 'layers');
  return {
    maxNewTokens: maxNewTokens ?? null,
    logitThreshold: Math.log(maskThreshold / (1 - maskThreshold)),
    candidates,
    layers,
  };
}

/** Tokens left for `<bos> prompt answer <eos>` after the image (and any object) tokens. @internal */
export function textBudget(model: FlowSegModel): number {
  return model.config.languageModel.maxPositions - model.numPrefixTokens;
}

function planText(model: FlowSegModel, request: SegmentRequest, index: number, name: ArgumentName): TextPlan {
  const tok = model.tokenizer;
  const { expression, answer } = request;
  if (typeof expression !== 'string' || pretokenize(expression).length === 0) {
    throw new ValueError(
      `${name(index, 'expression')}: expected a non-empty string, received ${JSON.stringify(expression)}`,
      name(index, 'expression'),
    );
  }
  const prompt = segmentationPrompt(expression);
  const promptIds = tok.encode(prompt, { addBos: true });
  const unknownWords = [...new Set(pretokenize(prompt).filter((w) => tok.idOf(w) === undefined))];
  const budget = textBudget(model);
  // Room for <bos> prompt, one answer token and <eos>.
  if (promptIds.length + 2 > budget) {
    throw new ValueError(
      `${name(index, 'expression')}: the prompt has ${promptIds.length - 1} tokens; the model reads at most ${budget - 3} ` +
        `(maxPositions=${model.config.languageModel.maxPositions} minus ${model.numPrefixTokens} image and object tokens, <bos>, one answer token and <eos>)`,
      name(index, 'expression'),
    );
  }
  let answerIds: number[] | null = null;
  if (answer !== undefined) {
    const arg = name(index, 'answer');
    if (typeof answer !== 'string') throw new ValueError(`${arg}: expected a string, received ${typeof answer}`, arg);
    answerIds = tok.encode(answer);
    const check = repairAnswerIds(answerIds, tok);
    if (check.repairs.length > 0) throw new ValueError(`${arg}: not a well-formed answer (${check.repairs[0]})`, arg);
    if (promptIds.length + answerIds.length + 1 > budget) {
      throw new ValueError(
        `${arg}: <bos>, prompt, answer and <eos> take ${promptIds.length + answerIds.length + 1} tokens; the model reads at most ${budget} after its image and object tokens`,
        arg,
      );
    }
  }
  return { prompt, promptIds, unknownWords, answerIds };
}

/**
 * Greedy answers for the requests `rows` (those without a given answer), their prompts in one
 * batch. `prefix` is the language model's prefix of every request's image.
 */
async function generateAnswers(
  model: FlowSegModel,
  prefix: tf.Tensor3D,
  plans: readonly TextPlan[],
  rows: readonly number[],
  options: ResolvedOptions,
): Promise<Map<number, RepairedAnswer>> {
  const tok = model.tokenizer;
  const prompts = rows.map((i) => plans[i]!.promptIds);
  const room = textBudget(model) - Math.max(...prompts.map((p) => p.length)) - 1;
  const maxNewTokens = options.maxNewTokens ?? Math.min(DEFAULT_MAX_NEW_TOKENS, room);
  if (maxNewTokens > room) {
    throw new ValueError(
      `maxNewTokens: ${maxNewTokens} exceeds the ${room} tokens the model has left after its image and object tokens, the longest prompt and <eos>`,
      'maxNewTokens',
    );
  }
  const subset = rows.length === plans.length ? null : tf.tidy(() => tf.gather(prefix, [...rows]) as tf.Tensor3D);
  let generated: number[][];
  try {
    generated = await greedyAnswers(model.languageModel, subset ?? prefix, prompts, tok.padId, maxNewTokens, tok.eosId);
  } finally {
    subset?.dispose();
  }
  const budget = textBudget(model);
  return new Map(rows.map((i, r) => [i, finishGeneratedAnswer(generated[r]!, tok, { promptLength: prompts[r]!.length, budget, maxNewTokens })]));
}

async function read<T extends tf.Tensor>(t: T): Promise<Float32Array | Int32Array | Uint8Array> {
  try {
    return (await t.data()) as Float32Array | Int32Array | Uint8Array;
  } finally {
    t.dispose();
  }
}

function binary(values: ArrayLike<number>, offset: number, width: number, height: number): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = values[offset + i] ? 1 : 0;
  return { data, width, height };
}

function softmax(row: readonly number[]): number[] {
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** `logits [rows, h, w]` resized bilinearly to `size` and thresholded, as 0/1 data `[rows, H, W]`. */
function thresholdAt(logits: tf.Tensor3D, size: [number, number], threshold: number): tf.Tensor {
  return tf.tidy(() => {
    const up = tf.image.resizeBilinear(tf.expandDims(logits, 3) as tf.Tensor4D, size, false, true);
    return tf.greater(up, threshold);
  });
}

/** Turn the model's outputs into results (reads every tensor it needs; disposes nothing of `out`). */
async function collectResults(
  model: FlowSegModel,
  out: FlowSegOutputs,
  plans: readonly SequencePlan[],
  sizes: readonly { width: number; height: number }[],
  rows: number[][],
  attentionMask: number[][],
  answerSource: readonly ('generated' | 'given')[],
  options: ResolvedOptions,
): Promise<SegmentResult[]> {
  const tok = model.tokenizer;
  const [mh, mw] = model.maskSize;
  const n = model.config.decoder.numQueries;
  const parsed = model.adapter.parse(rows, attentionMask);
  const targets: SegmentTarget[][] = plans.map(() => []);
  const total = out.batchIndex.length;
  if (total > 0) {
    const scores = (await out.scores.array()) as number[][];
    const selected = Array.from(await out.selectedIndex.data());
    const objectness = (await read(tf.tidy(() => tf.slice(tf.softmax(out.classLogits), [0, 0, 0], [total, n, 1])))) as Float32Array;
    const selectedLogits = (await out.selectedLogits.data()) as Float32Array;
    const mp = mh * mw;
    const candidateData: (ArrayLike<number> | null)[] = new Array<ArrayLike<number> | null>(total).fill(null);
    const imageMasks: ArrayLike<number>[] = new Array<ArrayLike<number>>(total);
    for (let b = 0; b < plans.length; b++) {
      const ids = [...out.batchIndex.keys()].filter((r) => out.batchIndex[r] === b);
      if (ids.length === 0) continue;
      const { width, height } = sizes[b]!;
      const idx = tf.tensor1d(ids, 'int32');
      try {
        const sel = await read(
          tf.tidy(() => thresholdAt(tf.gather(out.selectedLogits, idx), [height, width], options.logitThreshold)),
        );
        ids.forEach((r, j) => (imageMasks[r] = sel.subarray(j * width * height, (j + 1) * width * height)));
        if (options.candidates === 'image') {
          const cand = await read(
            tf.tidy(() => {
              const rowsLogits = tf.reshape(tf.gather(out.candidateLogits, idx), [ids.length * n, mh, mw]) as tf.Tensor3D;
              return thresholdAt(rowsLogits, [height, width], options.logitThreshold);
            }),
          );
          const size = n * width * height;
          ids.forEach((r, j) => (candidateData[r] = cand.subarray(j * size, (j + 1) * size)));
        }
      } finally {
        idx.dispose();
      }
    }
    if (options.candidates === 'mask') {
      const cand = await read(tf.tidy(() => tf.greater(out.candidateLogits, options.logitThreshold)));
      for (let r = 0; r < total; r++) candidateData[r] = cand.subarray(r * n * mp, (r + 1) * n * mp);
    }
    let layerData: { logits: Float32Array; objectness: Float32Array }[] = [];
    if (options.layers) {
      const pick = tf.tidy(() => tf.oneHot(tf.tensor1d(selected, 'int32'), n)); // [R, N]
      try {
        const stages = [...out.auxOutputs, { predLogits: out.classLogits, predMasks: out.rawCandidateLogits }];
        layerData = await Promise.all(
          stages.map(async (p) => ({
            logits: (await read(
              tf.tidy(() => tf.sum(tf.mul(p.predMasks, tf.reshape(pick, [total, n, 1, 1])), 1)),
            )) as Float32Array,
            objectness: (await read(
              tf.tidy(() => tf.sum(tf.mul(tf.squeeze(tf.slice(tf.softmax(p.predLogits), [0, 0, 0], [total, n, 1]), [2]), pick), 1)),
            )) as Float32Array,
          })),
        );
      } finally {
        pick.dispose();
      }
    }
    for (let r = 0; r < total; r++) {
      const b = out.batchIndex[r]!;
      const k = out.segIndex[r]!;
      const { width, height } = sizes[b]!;
      const q = selected[r]!;
      const probabilities = softmax(scores[r]!);
      const item = parsed.items[b]!;
      const phraseText = item.spans.map((s) => tok.decode(s.content.map((t) => rows[b]![t]!)));
      const candidateSize: [number, number] = options.candidates === 'image' ? [width, height] : [mw, mh];
      const cData = candidateData[r];
      const candidates: SegmentCandidate[] =
        cData === null || cData === undefined
          ? []
          : Array.from({ length: n }, (_, i) => ({
              index: i,
              score: scores[r]![i]!,
              probability: probabilities[i]!,
              objectProbability: objectness[r * n + i]!,
              mask: binary(cData, i * candidateSize[0] * candidateSize[1], candidateSize[0], candidateSize[1]),
            }));
      const logits: MaskLogits = { data: selectedLogits.slice(r * mp, (r + 1) * mp), width: mw, height: mh };
      const layers: LayerPrediction[] | undefined = options.layers
        ? layerData.map((d, depth) => ({
            depth,
            logits: { data: d.logits.slice(r * mp, (r + 1) * mp), width: mw, height: mh },
            objectProbability: d.objectness[r]!,
          }))
        : undefined;
      targets[b]!.push({
        segIndex: k,
        phrases: (item.segSpans[k] ?? []).map((s) => phraseText[s]!),
        selectedIndex: q,
        score: scores[r]![q]!,
        probability: probabilities[q]!,
        objectProbability: objectness[r * n + q]!,
        logits,
        mask: binary(imageMasks[r]!, 0, width, height),
        candidates,
        ...(layers ? { layers } : {}),
      });
    }
  }
  return plans.map((p, b) => {
    const item = parsed.items[b]!;
    return {
      prompt: p.prompt,
      unknownWords: p.unknownWords,
      answer: tok.decode(p.answer),
      answerSource: answerSource[b]!,
      repairs: p.repairs,
      phrases: item.spans.map((s) => tok.decode(s.content.map((t) => rows[b]![t]!))),
      targets: targets[b]!,
      imageWidth: sizes[b]!.width,
      imageHeight: sizes[b]!.height,
      maskWidth: mw,
      maskHeight: mh,
    };
  });
}

async function segmentMany(
  model: FlowSegModel,
  requests: readonly SegmentRequest[],
  options: SegmentBatchOptions,
  name: ArgumentName,
): Promise<SegmentResult[]> {
  if (!(model instanceof FlowSegModel)) throw new ValueError('model: expected a FlowSegModel', 'model');
  const opts = resolveOptions(options);
  const textPlans = requests.map((r, i) => planText(model, r, i, name));
  const size = model.config.image;
  const prepared: tf.Tensor3D[] = [];
  const sizes: { width: number; height: number }[] = [];
  let images: tf.Tensor4D | null = null;
  let prefix: tf.Tensor3D | null = null;
  let pixels: PixelDecoderOutputs | null = null;
  try {
    for (const [i, r] of requests.entries()) {
      const p = await prepareImage(r.image, size, name(i, 'image'));
      prepared.push(p.tensor);
      sizes.push({ width: p.width, height: p.height });
    }
    images = tf.stack(prepared) as tf.Tensor4D;
    tf.dispose(prepared);
    prepared.length = 0;
    const toGenerate = textPlans.flatMap((p, i) => (p.answerIds === null ? [i] : []));
    // Computed once: generation reads the prefix, and forward reuses it and the pixel features
    // the prefix was made from (with object tokens the prefix is a decoder pass over them).
    if (toGenerate.length > 0) {
      pixels = model.pixelFeatures(images);
      prefix = model.languagePrefix(images, pixels);
    }
    const generated = prefix ? await generateAnswers(model, prefix, textPlans, toGenerate, opts) : new Map<number, RepairedAnswer>();
    const plans: SequencePlan[] = textPlans.map((p, i) => {
      const g = generated.get(i);
      return { ...p, answer: g ? g.ids : p.answerIds!, repairs: g ? g.repairs : [] };
    });
    const sequences = plans.map((p) => [...p.promptIds, ...p.answer, model.tokenizer.eosId]);
    const length = Math.max(...sequences.map((s) => s.length));
    const rows = sequences.map((s) => [...s, ...new Array<number>(length - s.length).fill(model.tokenizer.padId)]);
    const attentionMask = sequences.map((s) => Array.from({ length }, (_, t) => (t < s.length ? 1 : 0)));
    // Without a candidate list only the selected masks are read: BAR refines just those.
    const refine = opts.candidates === 'none' ? 'selected' : 'all';
    const out = model.forward({ images, tokenIds: rows, attentionMask, refine, auxOutputs: opts.layers, ...(prefix && pixels ? { languagePrefix: prefix, pixelFeatures: pixels } : {}) });
    try {
      const source = plans.map((p) => (p.answerIds === null ? 'generated' : 'given') as 'generated' | 'given');
      return await collectResults(model, out, plans, sizes, rows, attentionMask, source, opts);
    } finally {
      disposeFlowSegOutputs(out);
    }
  } finally {
    tf.dispose(prepared);
    images?.dispose();
    prefix?.dispose();
    if (pixels) tf.dispose([...pixels.features, pixels.maskFeatures]);
  }
}

/**
 * Segment what `expression` refers to in `image` with a FlowSeg model — the whole inference
 * pipeline in one call:
 * 1. the image is validated and converted to float32 `[0, 1]` at the model's input size
 *    (bilinear resize when it differs; see {@link SegmentImage});
 * 2. the prompt is `segmentationPrompt(expression)` (`segment <expression>` unless the
 *    expression starts with an instruction verb), tokenized as `<bos> prompt`;
 * 3. the answer is generated greedily by the language model with the image (and any object) tokens as prefix
 *    (up to `maxNewTokens`; a malformed answer is repaired and the repair reported), or the
 *    `answer` option is used as it is (teacher forcing);
 * 4. `model.forward` runs on `<bos> prompt answer <eos>`; each `<SEG>` of the answer gives one
 *    {@link SegmentTarget} (none when the answer has no `<SEG>`).
 *
 * Masks: the selected candidate's logits (after BAR) at the model's mask resolution, and a
 * binary mask at the input image's resolution (logits resized bilinearly, then
 * `σ(logit) > maskThreshold`). Leak-free; the result holds plain arrays only.
 *
 * @example
 * ```ts
 * const result = await segment(model, { rgb, width: 64, height: 64 }, 'the small red circle');
 * result.answer;              // '<p> the small red circle </p> <SEG>'
 * result.targets[0]?.mask;    // { data: Uint8Array(64·64) of 0/1, width: 64, height: 64 }
 * result.targets[0]?.probability;
 * ```
 * @throws ValueError / ShapeError / DTypeError naming `image`, `expression`, `answer` or the option.
 */
export async function segment(
  model: FlowSegModel,
  image: SegmentImage,
  expression: string,
  options: SegmentOptions = {},
): Promise<SegmentResult> {
  const { answer, ...rest } = options ?? {};
  const request: SegmentRequest = answer === undefined ? { image, expression } : { image, expression, answer };
  const [result] = await segmentMany(model, [request], rest, (_, field) => field);
  return result!;
}

/**
 * {@link segment} for several requests in one batch: the answers to generate are generated
 * together (prompts left-padded), then one `model.forward` runs on every sequence (right-padded).
 * Images may differ in size; each result's masks have its own image's size.
 * @throws ValueError / ShapeError / DTypeError naming `requests[i].image`, `.expression` or `.answer`.
 */
export async function segmentBatch(
  model: FlowSegModel,
  requests: readonly SegmentRequest[],
  options: SegmentBatchOptions = {},
): Promise<SegmentResult[]> {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new ValueError('requests: expected a non-empty array of { image, expression, answer? }', 'requests');
  }
  requests.forEach((r, i) => {
    if (r === null || typeof r !== 'object') throw new ValueError(`requests[${i}]: expected { image, expression, answer? }`, `requests[${i}]`);
  });
  return segmentMany(model, requests, options, (i, field) => `requests[${i}].${field}`);
}
