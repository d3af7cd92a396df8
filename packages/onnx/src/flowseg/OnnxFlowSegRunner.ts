import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError } from '@flowseg/core';
import { buildPoolingPlan, parseSpecialTokens } from '@flowseg/llm-condition-adapter';
import type { FlowSegOutputs } from '@flowseg/flowseg-model';
import type { DecoderPrediction } from '@flowseg/mask2former-decoder';
import { OnnxSession, type OnnxSessionOptions } from '../runtime/OnnxSession.js';
import type { OnnxTypedTensor } from '../graph/tensorData.js';
import { FLOWSEG_ONNX_GRAPHS, type FlowSegOnnxManifest, type FlowSegOnnxModels } from './exportFlowSegOnnx.js';
import { float32Tensor, gatherRows, sliceMiddle, tokenBatchRows, type TokenRowsInput } from './flowSegGlue.js';

/** Inputs of {@link OnnxFlowSegRunner.run} and {@link OnnxFlowSegRunner.forward} (those of `FlowSegModel.forward`). */
export interface OnnxFlowSegInputs {
  /** RGB images `[batch, height, width, 3]`, float32 in `[0, 1]`, at the exported image size: a TF.js tensor or a typed tensor. */
  readonly images: tf.Tensor4D | OnnxTypedTensor;
  /** Token ids `[batch, tokens]` (`<bos>` prompt answer `<eos>`, the answer with `<p>…</p>` and `<SEG>`): arrays or an int32 tensor. */
  readonly tokenIds: TokenRowsInput;
  /** `[batch, tokens]` 1 = real token, 0 = padding (arrays or a tensor); omitted = all real. */
  readonly attentionMask?: TokenRowsInput | null;
}

/** One deep-supervision prediction as typed tensors. */
export interface OnnxDecoderPrediction {
  /** Class logits `[targets, queries, 2]`. */
  readonly predLogits: OnnxTypedTensor;
  /** Mask logits `[targets, queries, maskHeight, maskWidth]`. */
  readonly predMasks: OnnxTypedTensor;
}

/**
 * Outputs of {@link OnnxFlowSegRunner.run}: `FlowSegOutputs` as typed tensors (no TF.js
 * needed). Row `r` of every per-target tensor is `<SEG>` number `segIndex[r]` of batch item
 * `batchIndex[r]`.
 */
export interface OnnxFlowSegTypedOutputs {
  /** Batch item of each target row. */
  readonly batchIndex: Int32Array;
  /** `<SEG>` ordinal (within its sequence) of each target row. */
  readonly segIndex: Int32Array;
  /** Next-token logits `[batch, tokens, vocab]`. */
  readonly lmLogits: OnnxTypedTensor;
  /** Class logits `[targets, queries, 2]`. */
  readonly classLogits: OnnxTypedTensor;
  /** Candidate mask logits before BAR `[targets, queries, maskHeight, maskWidth]`. */
  readonly rawCandidateLogits: OnnxTypedTensor;
  /** Candidate mask logits after BAR `[targets, queries, maskHeight, maskWidth]`. */
  readonly candidateLogits: OnnxTypedTensor;
  /** Output queries `Q_out` after the decoder's final norm `[targets, queries, channels]`. */
  readonly queries: OnnxTypedTensor;
  /** Selection scores `[targets, queries]`. */
  readonly scores: OnnxTypedTensor;
  /** Selected candidate per target `[targets]`, int32. */
  readonly selectedIndex: OnnxTypedTensor;
  /** Mask logits of the selected candidate `[targets, maskHeight, maskWidth]`. */
  readonly selectedLogits: OnnxTypedTensor;
  /** Refined conditions `C⁽ᴸ⁾` `[targets, conditions, channels]`. */
  readonly conditions: OnnxTypedTensor;
  /** Conditions each target reads `[targets, conditions]`. */
  readonly conditionMask: OnnxTypedTensor;
  /** Deep-supervision predictions (empty unless exported with `auxOutputs`). */
  readonly auxOutputs: readonly OnnxDecoderPrediction[];
}

/** Options of {@link OnnxFlowSegRunner.create}: those of every session, plus scheduling. */
export interface OnnxFlowSegRunnerOptions extends OnnxSessionOptions {
  /**
   * Run the image branch (segmentor) and the text branch (vision → language model) at the same
   * time (default false: one after the other, so `intraOpNumThreads` bounds the cores used).
   * With object tokens the image branch always runs first: the text branch reads its tokens.
   */
  readonly concurrent?: boolean;
}

type Sessions = Record<(typeof FLOWSEG_ONNX_GRAPHS)[number], OnnxSession>;

function checkManifest(manifest: FlowSegOnnxManifest): void {
  if (!manifest || manifest.format !== 'flowseg-onnx' || manifest.version !== 1) {
    throw new ValueError('models.manifest: expected a flowseg-onnx manifest, version 1 (from exportFlowSegOnnx)', 'models');
  }
}

async function imageTensor(images: tf.Tensor4D | OnnxTypedTensor, manifest: FlowSegOnnxManifest): Promise<OnnxTypedTensor> {
  const { height, width } = manifest.image;
  const expected = `[batch, ${height}, ${width}, 3]`;
  if (images instanceof tf.Tensor) {
    if (images.dtype !== 'float32') throw new DTypeError('images', ['float32'], images.dtype);
    const [, h, w, c] = images.shape;
    if (images.rank !== 4 || h !== height || w !== width || c !== 3) throw new ShapeError('images', expected, images.shape, 'size differs from the export');
    return float32Tensor((await images.data()) as Float32Array, images.shape);
  }
  if (!images || images.dtype !== 'float32') throw new DTypeError('images', ['float32'], String(images?.dtype));
  const d = images.dims;
  if (d.length !== 4 || d[1] !== height || d[2] !== width || d[3] !== 3) throw new ShapeError('images', expected, [...d], 'size differs from the export');
  return images;
}

const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * FlowSeg inference on ONNX Runtime: the graphs of {@link exportFlowSegOnnx} plus the
 * JavaScript glue (token parsing with `parseSpecialTokens`, the pooling plan, per-target row
 * gathering), returning what `FlowSegModel.forward` returns. Works with `onnxruntime-node`
 * (default in Node) and `onnxruntime-web` (`runtime: 'web'`, default in browsers) alike.
 *
 * @example
 * ```ts
 * const runner = await OnnxFlowSegRunner.create(exportFlowSegOnnx(model), { intraOpNumThreads: 2 });
 * const out = await runner.forward({ images, tokenIds, attentionMask }); // tf.Tensors, as FlowSegModel.forward
 * const typed = await runner.run({ images, tokenIds });                 // typed arrays, no TF.js math
 * await runner.release();
 * ```
 */
export class OnnxFlowSegRunner {
  /** Sizes and rules of the exported model. */
  readonly manifest: FlowSegOnnxManifest;
  private readonly sessions: Sessions;
  private readonly concurrent: boolean;
  private released = false;

  private constructor(manifest: FlowSegOnnxManifest, sessions: Sessions, concurrent: boolean) {
    this.manifest = manifest;
    this.sessions = sessions;
    this.concurrent = concurrent;
  }

  /** Load the five graphs into ONNX Runtime sessions (same options for each). */
  static async create(models: FlowSegOnnxModels, options: OnnxFlowSegRunnerOptions = {}): Promise<OnnxFlowSegRunner> {
    if (!models || typeof models !== 'object') throw new ValueError('models: expected the result of exportFlowSegOnnx', 'models');
    checkManifest(models.manifest);
    for (const name of FLOWSEG_ONNX_GRAPHS) {
      if (!(models[name] instanceof Uint8Array)) throw new ValueError(`models.${name}: expected ONNX bytes (Uint8Array)`, 'models');
    }
    const { concurrent, ...sessionOptions } = options;
    if (concurrent !== undefined && typeof concurrent !== 'boolean') throw new ValueError(`concurrent: expected a boolean, received ${String(concurrent)}`, 'concurrent');
    const created: Partial<Sessions> = {};
    try {
      for (const name of FLOWSEG_ONNX_GRAPHS) created[name] = await OnnxSession.create(models[name], sessionOptions);
    } catch (e) {
      await Promise.all(Object.values(created).map((s) => s.release()));
      throw e;
    }
    return new OnnxFlowSegRunner(models.manifest, created as Sessions, concurrent ?? false);
  }

  /** Runtime of the sessions. */
  get runtime(): OnnxSession['runtime'] {
    return this.sessions.decoder.runtime;
  }

  /** Run the whole model; outputs as typed tensors (see {@link OnnxFlowSegTypedOutputs}). */
  async run(inputs: OnnxFlowSegInputs): Promise<OnnxFlowSegTypedOutputs> {
    if (this.released) throw new ValueError('this runner was released', 'runner');
    if (!inputs || typeof inputs !== 'object') throw new ValueError('inputs: expected { images, tokenIds, attentionMask? }', 'inputs');
    const m = this.manifest;
    const images = await imageTensor(inputs.images, m);
    const batch = images.dims[0]!;
    const tokens = tokenBatchRows(inputs.tokenIds, inputs.attentionMask, batch, m.vocabSize);
    // The parse is plain JS; doing it first gives clear errors before any graph runs.
    const parsed = parseSpecialTokens(tokens.rows, {
      specialTokens: m.specialTokens,
      attentionMask: tokens.maskRows,
      padId: m.padId,
      vocabSize: m.vocabSize,
      requireSeg: m.requireSeg,
      emptyPhrase: m.emptyPhrase,
    });
    const plan = buildPoolingPlan(parsed, { pooling: m.pooling, includeTags: m.includeTags, tokens: tokens.tokens });
    const batchIndex: number[] = [];
    const segIndex: number[] = [];
    parsed.items.forEach((item, b) => item.segPositions.forEach((_, s) => (batchIndex.push(b), segIndex.push(s))));

    const textBranch = async (objectTokens?: OnnxTypedTensor) => {
      const { imageTokens } = await this.sessions.vision.runTyped({ images });
      return this.sessions.languageModel.runTyped({
        imageTokens: objectTokens ? concatTokens(imageTokens!, objectTokens) : imageTokens!,
        tokenIds: { dtype: 'int32', dims: [batch, tokens.tokens], data: tokens.ids },
        attentionMask: { dtype: 'int32', dims: [batch, tokens.tokens], data: tokens.mask },
      });
    };
    const imageBranch = () => this.sessions.segmentor.runTyped({ images });
    let lm: Record<string, OnnxTypedTensor>;
    let pix: Record<string, OnnxTypedTensor>;
    if (m.objectTokens) {
      // The language model's prefix ends with the segmentor's object tokens: image branch first.
      pix = await imageBranch();
      lm = await textBranch(pix['objectTokens']!);
    } else if (this.concurrent) [lm, pix] = await Promise.all([textBranch(), imageBranch()]);
    else {
      lm = await textBranch();
      pix = await imageBranch();
    }

    const rows = batchIndex.length;
    const conditionsAxis = plan.maxSpans;
    const { numQueries: n, hiddenDim: d } = m;
    const [mh, mw] = m.maskSize;
    const common = { batchIndex: Int32Array.from(batchIndex), segIndex: Int32Array.from(segIndex), lmLogits: lm['logits']! };
    if (rows === 0) {
      const empty = (dims: number[]) => float32Tensor(new Float32Array(0), dims);
      return {
        ...common,
        classLogits: empty([0, n, 2]),
        rawCandidateLogits: empty([0, n, mh, mw]),
        candidateLogits: empty([0, n, mh, mw]),
        queries: empty([0, n, d]),
        scores: empty([0, n]),
        selectedIndex: { dtype: 'int32', dims: [0], data: new Int32Array(0) },
        selectedLogits: empty([0, mh, mw]),
        conditions: empty([0, conditionsAxis, d]),
        conditionMask: empty([0, conditionsAxis]),
        auxOutputs: [],
      };
    }

    // The graphs need ≥ 1 condition slot: a batch without phrases gets one 0-mask slot (SR, CR and the selection ignore it).
    const c = Math.max(conditionsAxis, 1);
    const t = tokens.tokens;
    const k = plan.maxSeg;
    const padded = (data: Float32Array, size: number) => (conditionsAxis === 0 ? new Float32Array(size) : data);
    const adapted = await this.sessions.adapter.runTyped({
      hiddenStates: lm['hiddenStates']!,
      spanWeights: float32Tensor(padded(plan.spanWeights, batch * c * t), [batch, c, t]),
      segSelection: float32Tensor(plan.segSelection, [batch, k, t]),
      conditionMask: float32Tensor(padded(plan.conditionMask, batch * c), [batch, c]),
      segMask: float32Tensor(plan.segMask, [batch, k]),
      ...(m.lexicalSkip || m.lexicalSelector ? { tokenIds: { dtype: 'int32' as const, dims: [batch, tokens.tokens], data: tokens.ids } } : {}),
    });

    // One row per target: its image's features and conditions, its S, its tied phrases.
    const segRows = batchIndex.map((b, r) => b * k + segIndex[r]!);
    const conditionMask = new Float32Array(rows * c);
    batchIndex.forEach((b, r) => {
      for (let s = 0; s < conditionsAxis; s++) {
        conditionMask[r * c + s] = plan.conditionMask[b * conditionsAxis + s]! * plan.segConditionMask[segRows[r]! * conditionsAxis + s]!;
      }
    });
    const perTarget = (x: OnnxTypedTensor) => {
      const rowSize = prod(x.dims.slice(1));
      return float32Tensor(gatherRows(x.data as Float32Array, rowSize, batchIndex), [rows, ...x.dims.slice(1)]);
    };
    const dec = await this.sessions.decoder.runTyped({
      features0: perTarget(pix['features0']!),
      features1: perTarget(pix['features1']!),
      features2: perTarget(pix['features2']!),
      maskFeatures: perTarget(pix['maskFeatures']!),
      segEmbeddings: float32Tensor(gatherRows(adapted['segEmbeddings']!.data as Float32Array, d, segRows), [rows, d]),
      conditions: perTarget(adapted['conditions']!),
      conditionMask: float32Tensor(conditionMask, [rows, c]),
      ...(m.regionEncoder ? { images: perTarget(images) } : {}),
      ...(m.lexicalSelector ? { phraseWords: perTarget(adapted['phraseWords']!) } : {}),
    });
    const refined = dec['refinedConditions']!;
    const auxOutputs: OnnxDecoderPrediction[] = [];
    if (m.auxOutputs) {
      const logits = dec['auxClassLogits']!;
      const masks = dec['auxMaskLogits']!;
      const layers = logits.dims[0]!;
      const ls = prod(logits.dims.slice(1));
      const ms = prod(masks.dims.slice(1));
      for (let l = 0; l < layers; l++) {
        auxOutputs.push({
          predLogits: float32Tensor((logits.data as Float32Array).slice(l * ls, (l + 1) * ls), logits.dims.slice(1)),
          predMasks: float32Tensor((masks.data as Float32Array).slice(l * ms, (l + 1) * ms), masks.dims.slice(1)),
        });
      }
    }
    return {
      ...common,
      classLogits: dec['classLogits']!,
      rawCandidateLogits: dec['rawCandidateLogits']!,
      candidateLogits: dec['candidateLogits']!,
      queries: dec['queries']!,
      scores: dec['scores']!,
      selectedIndex: dec['selectedIndex']!,
      selectedLogits: dec['selectedLogits']!,
      conditions: float32Tensor(sliceMiddle(refined.data as Float32Array, rows, c, conditionsAxis, d), [rows, conditionsAxis, d]),
      conditionMask: float32Tensor(sliceMiddle(conditionMask, rows, c, conditionsAxis, 1), [rows, conditionsAxis]),
      auxOutputs,
    };
  }

  /**
   * Run the whole model and return `FlowSegModel.forward`'s outputs as TF.js tensors (the
   * caller disposes them); `auxOutputs` is empty unless the graphs were exported with
   * `auxOutputs: true`.
   */
  async forward(inputs: OnnxFlowSegInputs): Promise<FlowSegOutputs> {
    const out = await this.run(inputs);
    const f = (x: OnnxTypedTensor) => tf.tensor(x.data as Float32Array, [...x.dims], 'float32');
    const outputs: FlowSegOutputs = {
      batchIndex: out.batchIndex,
      segIndex: out.segIndex,
      lmLogits: f(out.lmLogits) as tf.Tensor3D,
      classLogits: f(out.classLogits) as tf.Tensor3D,
      rawCandidateLogits: f(out.rawCandidateLogits) as tf.Tensor4D,
      candidateLogits: f(out.candidateLogits) as tf.Tensor4D,
      queries: f(out.queries) as tf.Tensor3D,
      scores: f(out.scores) as tf.Tensor2D,
      selectedIndex: tf.tensor1d(out.selectedIndex.data as Int32Array, 'int32'),
      selectedLogits: f(out.selectedLogits) as tf.Tensor3D,
      conditions: f(out.conditions) as tf.Tensor3D,
      conditionMask: f(out.conditionMask) as tf.Tensor2D,
      auxOutputs: out.auxOutputs.map(
        (p): DecoderPrediction => ({ predLogits: f(p.predLogits) as tf.Tensor3D, predMasks: f(p.predMasks) as tf.Tensor4D }),
      ),
    };
    return outputs;
  }

  /** Free every session; the runner cannot run afterwards. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}

/** `[a ; b]` along axis 1 of two float32 `[batch, tokens_i, width]` tensors (image tokens, then object tokens). */
function concatTokens(a: OnnxTypedTensor, b: OnnxTypedTensor): OnnxTypedTensor {
  const [batch, ta, width] = a.dims as [number, number, number];
  const tb = b.dims[1]!;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  const out = new Float32Array(batch * (ta + tb) * width);
  for (let i = 0; i < batch; i++) {
    out.set(x.subarray(i * ta * width, (i + 1) * ta * width), i * (ta + tb) * width);
    out.set(y.subarray(i * tb * width, (i + 1) * tb * width), (i * (ta + tb) + ta) * width);
  }
  return { dtype: 'float32', dims: [batch, ta + tb, width], data: out };
}
