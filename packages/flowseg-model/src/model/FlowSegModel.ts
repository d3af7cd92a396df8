import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, deriveSeed, requireBoolean, sinePositionEncoding2d, tidy } from '@flowseg/core';
import { LlmConditionAdapter } from '@flowseg/llm-condition-adapter';
import { FpnPixelDecoder, Mask2FormerDecoder, type PixelDecoderOutputs } from '@flowseg/mask2former-decoder';
import { bsfLayerFactory } from '@flowseg/bsf-layer';
import { BoundaryAwareRefinement } from '@flowseg/bar-head';
import { ConvSegmentationEncoder } from '../encoders/ConvSegmentationEncoder.js';
import { PatchVisionEncoder } from '../encoders/PatchVisionEncoder.js';
import { TinyCausalLM } from '../language/TinyCausalLM.js';
import { WordTokenizer } from '../tokenizer/WordTokenizer.js';
import { validateFlowSegConfig } from '../config/resolveFlowSegConfig.js';
import type { FlowSegConfig } from '../config/flowSegConfig.js';
import { ConditionQuerySelector } from './ConditionQuerySelector.js';
import { CandidateRegionEncoder } from './CandidateRegionEncoder.js';
import { LexicalSkip } from '../language/LexicalSkip.js';
import { LexicalSelector } from './LexicalSelector.js';
import { AttributeHead } from './AttributeHead.js';
import { ObjectTokenEncoder } from './ObjectTokenEncoder.js';
import type { BarCandidates, FlowSegInputs, FlowSegOutputs, SegmentorOutputs } from './flowSegTypes.js';
import { tokenTensors } from './tokenTensors.js';

/** Channels of the sine position encoding projected onto the finest backbone map. */
const PIXEL_POSITION_CHANNELS = 32;

/** Constructor options of {@link FlowSegModel}. */
export interface FlowSegModelOptions {
  /** Complete, validated configuration (see `resolveFlowSegConfig`). */
  readonly config: FlowSegConfig;
  /** Word-level tokenizer; its vocabulary sizes the language model. */
  readonly tokenizer: WordTokenizer;
  /** Layer name. */
  readonly name?: string;
}

/**
 * The assembled FlowSeg system (DESIGN.md §1):
 * image → vision encoder → image tokens ┐
 * tokens (prompt + answer with `<p>…</p>`, `<SEG>`) → language model → hidden states `H`
 * → adapter → conditions `C = φ(C_LLM)` and segmentation embeddings `S = φ(S_LLM)` (with
 * `config.adapter.lexicalSkip`, the pooled states also get the gated token embeddings);
 * image → segmentation encoder → FPN pixel decoder → 3 scales `F` + per-pixel features `F_pix`;
 * per `<SEG>`: Mask2Former decoder with BSF layers from `Q⁽⁰⁾ = Q + S`, carrying `C⁽ˡ⁾`
 * → candidate masks → BAR → selection `argmax_i cos(W_q Q_out,i, W_c c) / τ` where `c` is the
 * mean of the target's refined conditions `C⁽ᴸ⁾` (its `<SEG>`'s tied phrases; `S` itself when it
 * has none). With `config.selection.regionCropSize`, `Q_out,i` first gets the region embedding
 * of candidate `i`'s raw mask ({@link CandidateRegionEncoder}, beyond the paper); with
 * `config.selection.lexicalSelector`, the score also gets a {@link LexicalSelector}'s term from
 * the phrase's mean word embedding; with `config.languageModel.copyHeadDim`, the language model's
 * logits get a {@link CopyHead}'s bonus (both beyond the paper). Selection
 * never reads the BAR-refined masks, so inference can refine only the selected ones
 * (`refine: 'selected'`, see {@link BarCandidates}).
 *
 * Several `<SEG>` tokens give several targets, each with its own decoder pass (its own query
 * initialisation, its own conditions and its own selected mask). Weights are named after the
 * children: `segmentation_encoder.*`, `pixel_position.*`, `pixel_decoder.*`, `vision_encoder.*`,
 * `language_model.*`, `adapter.*`, `decoder.*`, `bar.*` (when enabled), `selector.*`,
 * `attribute_head.*` (when `config.attributeClasses` is not empty; training, and the object tokens),
 * `region_encoder.*` (with `config.selection.regionCropSize`), `lexical_skip.kernel` (with
 * `config.adapter.lexicalSkip`), `lexical_selector.*` (with `config.selection.lexicalSelector`),
 * `language_model.copy_head.*` (with `config.languageModel.copyHeadDim`), `object_tokens.*` (with
 * `config.languageModel.objectTokens`: the language model's prefix gets one {@link ObjectTokenEncoder}
 * token per query of a condition-free decoder pass after the image tokens, see
 * {@link FlowSegModel.languagePrefix}).
 *
 * @example
 * ```ts
 * const model = new FlowSegModel({ config: resolveFlowSegConfig(), tokenizer });
 * const out = model.forward({ images, tokenIds });
 * const masks = model.upsampleToImage(out.selectedLogits); // [targets, H, W] logits
 * ```
 */
export class FlowSegModel extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegModel';
  /** The configuration the model was built from. */
  readonly config: FlowSegConfig;
  /** The tokenizer (vocabulary and special-token ids). */
  readonly tokenizer: WordTokenizer;
  /** Segmentation encoder (backbone). */
  readonly segmentationEncoder: ConvSegmentationEncoder;
  /** FPN pixel decoder: 3 scales for the decoder + per-pixel mask features `F_pix`. */
  readonly pixelDecoder: FpnPixelDecoder;
  /** Vision encoder (image tokens for the language model). */
  readonly visionEncoder: PatchVisionEncoder;
  /** Language model. */
  readonly languageModel: TinyCausalLM;
  /** `<p>`/`<SEG>` parsing, pooling and `φ_llm`. */
  readonly adapter: LlmConditionAdapter;
  /** Mask2Former decoder whose layers are BSF layers (switches from `config.bsf`). */
  readonly decoder: Mask2FormerDecoder;
  /** Boundary-Aware Refinement, or `null` when `config.bar.enabled` is false. */
  readonly bar: BoundaryAwareRefinement | null;
  /** Candidate selection. */
  readonly selector: ConditionQuerySelector;
  /** Projection of the sine position encoding added to the finest backbone map. */
  readonly pixelPosition: Linear;
  /** Gated token embeddings added to what the adapter pools, or `null` without `config.adapter.lexicalSkip`. */
  readonly lexicalSkip: LexicalSkip | null;
  /** Word-embedding score added to the selector's, or `null` without `config.selection.lexicalSelector`. */
  readonly lexicalSelector: LexicalSelector | null;
  /** Region embedding of each candidate added to its query before selection, or `null` without `config.selection.regionCropSize`. */
  readonly regionEncoder: CandidateRegionEncoder | null;
  /** Classifiers of each candidate's attributes (training, and the object tokens' input), or `null` when `config.attributeClasses` is empty. */
  readonly attributeHead: AttributeHead | null;
  /** Object tokens for the language model, or `null` without `config.languageModel.objectTokens`. */
  readonly objectTokens: ObjectTokenEncoder | null;
  private positionCache: tf.Tensor2D | null = null;

  constructor(options: FlowSegModelOptions) {
    super({ name: options.name });
    const c = options.config;
    validateFlowSegConfig(c);
    if (!(options.tokenizer instanceof WordTokenizer)) {
      throw new ValueError('tokenizer: expected a WordTokenizer', 'tokenizer');
    }
    this.config = c;
    this.tokenizer = options.tokenizer;
    const seed = (i: number) => deriveSeed(c.seed, i)!;
    const stages = c.segmentationEncoder.stageChannels.length;
    this.segmentationEncoder = new ConvSegmentationEncoder({
      stageChannels: [...c.segmentationEncoder.stageChannels],
      blocksPerStage: [...c.segmentationEncoder.blocksPerStage],
      featureStrides: [2 ** stages, 2 ** (stages - 1), 2 ** (stages - 2)],
      pixelStride: 2 ** (stages - 3),
      seed: seed(0),
    });
    const enc = this.segmentationEncoder;
    this.pixelDecoder = new FpnPixelDecoder({
      inChannels: [enc.pixelChannels, enc.featureChannels[2], enc.featureChannels[1], enc.featureChannels[0]],
      convDim: c.pixelDecoder.convDim,
      maskDim: c.pixelDecoder.maskDim,
      groups: c.pixelDecoder.groups,
      seed: seed(1),
    });
    this.visionEncoder = new PatchVisionEncoder({
      tokenDim: c.languageModel.hiddenSize,
      imageHeight: c.image.height,
      imageWidth: c.image.width,
      patchSize: c.visionEncoder.patchSize,
      width: c.visionEncoder.width,
      depth: c.visionEncoder.depth,
      numHeads: c.visionEncoder.numHeads,
      mergeSize: c.visionEncoder.mergeSize,
      seed: seed(2),
    });
    this.languageModel = new TinyCausalLM({
      vocabSize: this.tokenizer.vocabSize,
      hiddenSize: c.languageModel.hiddenSize,
      numLayers: c.languageModel.numLayers,
      numHeads: c.languageModel.numHeads,
      ffnSize: c.languageModel.ffnSize,
      maxPositions: c.languageModel.maxPositions,
      ...(c.languageModel.copyHeadDim === undefined ? {} : { copyHeadDim: c.languageModel.copyHeadDim }),
      seed: seed(3),
    });
    this.adapter = new LlmConditionAdapter({
      llmDim: c.languageModel.hiddenSize,
      decoderDim: c.decoder.hiddenDim,
      specialTokens: {
        phraseStart: this.tokenizer.phraseStartId,
        phraseEnd: this.tokenizer.phraseEndId,
        seg: this.tokenizer.segId,
      },
      projectionHiddenDim: c.adapter.projectionHiddenDim,
      separateProjections: c.adapter.separateProjections,
      pooling: c.adapter.pooling,
      padId: this.tokenizer.padId,
      vocabSize: this.tokenizer.vocabSize,
      emptyPhrase: 'drop',
      seed: seed(4),
    });
    this.decoder = new Mask2FormerDecoder({
      numClasses: 1,
      numQueries: c.decoder.numQueries,
      numLayers: c.decoder.numLayers,
      hiddenDim: c.decoder.hiddenDim,
      numHeads: c.decoder.numHeads,
      ffnDim: c.decoder.ffnDim,
      maskDim: c.pixelDecoder.maskDim,
      featureChannels: c.pixelDecoder.convDim,
      seed: seed(5),
      layerFactory: bsfLayerFactory({
        semanticRefinement: c.bsf.semanticRefinement,
        conditionRefinement: c.bsf.conditionRefinement,
        crSource: c.bsf.crSource,
        seed: seed(6),
      }),
    });
    this.bar = c.bar.enabled
      ? new BoundaryAwareRefinement({
          featureChannels: c.pixelDecoder.maskDim,
          compChannels: c.bar.compChannels,
          hiddenChannels: c.bar.hiddenChannels,
          epsilon: c.bar.epsilon,
          bandKernel: c.bar.bandKernel,
          adaptiveThreshold: c.bar.adaptiveThreshold,
          seed: seed(7),
        })
      : null;
    this.pixelPosition = new Linear({
      inFeatures: PIXEL_POSITION_CHANNELS,
      outFeatures: this.segmentationEncoder.pixelChannels,
      seed: seed(9),
    });
    this.selector = new ConditionQuerySelector({
      hiddenDim: c.decoder.hiddenDim,
      projectionDim: c.selection.projectionDim,
      temperature: c.selection.temperature,
      seed: seed(8),
    });
    this.lexicalSkip = c.adapter.lexicalSkip ? new LexicalSkip({ hiddenSize: c.languageModel.hiddenSize }) : null;
    this.regionEncoder =
      c.selection.regionCropSize === undefined
        ? null
        : new CandidateRegionEncoder({ hiddenDim: c.decoder.hiddenDim, cropSize: c.selection.regionCropSize, seed: seed(11) });
    this.lexicalSelector = c.selection.lexicalSelector
      ? new LexicalSelector({ queryDim: c.decoder.hiddenDim, wordDim: c.languageModel.hiddenSize, projectionDim: c.selection.projectionDim, seed: seed(12) })
      : null;
    const attributeClasses = c.attributeClasses ?? [];
    this.attributeHead =
      attributeClasses.length > 0 ? new AttributeHead({ hiddenDim: c.decoder.hiddenDim, classes: attributeClasses, seed: seed(10) }) : null;
    this.objectTokens = c.languageModel.objectTokens
      ? new ObjectTokenEncoder({ tokenDim: c.languageModel.hiddenSize, classes: attributeClasses, seed: seed(13) })
      : null;
    // Built eagerly so that `trainableWeights` is complete before the first call.
    this.build();
    const [ph, pw] = this.maskSize;
    this.positionCache = tf.keep(sinePositionEncoding2d(ph, pw, PIXEL_POSITION_CHANNELS));
  }

  override build(): void {
    if (this.built) return;
    const children: Array<[string, FlowSegLayer | null]> = [
      ['segmentation_encoder', this.segmentationEncoder],
      ['pixel_decoder', this.pixelDecoder],
      ['vision_encoder', this.visionEncoder],
      ['language_model', this.languageModel],
      ['adapter', this.adapter],
      ['decoder', this.decoder],
      ['bar', this.bar],
      ['selector', this.selector],
      ['pixel_position', this.pixelPosition],
      ['attribute_head', this.attributeHead],
      ['region_encoder', this.regionEncoder],
      ['lexical_skip', this.lexicalSkip],
      ['lexical_selector', this.lexicalSelector],
      ['object_tokens', this.objectTokens],
    ];
    for (const [key, layer] of children) {
      if (!layer) continue;
      this.addChild(key, layer);
      layer.ensureBuilt();
    }
    super.build([]);
  }

  /** Mask resolution of the candidates `[maskHeight, maskWidth]` (the pixel decoder's finest map). */
  get maskSize(): [number, number] {
    const s = 2 ** (this.config.segmentationEncoder.stageChannels.length - 3);
    return [this.config.image.height / s, this.config.image.width / s];
  }

  /** Run the whole system; see {@link FlowSegInputs} and {@link FlowSegOutputs}. */
  forward(inputs: FlowSegInputs): FlowSegOutputs {
    const { height, width } = this.config.image;
    checkShapes({
      images: { tensor: inputs.images, axes: ['batch', height, width, 3], dtypes: ['float32'] },
      languagePrefix: {
        tensor: inputs.languagePrefix ?? null,
        axes: ['batch', this.numPrefixTokens, this.config.languageModel.hiddenSize],
        dtypes: ['float32'],
        optional: true,
      },
    });
    if (inputs.pixelFeatures) this.checkPixelFeatures(inputs.pixelFeatures, inputs.images.shape[0]);
    const training = inputs.training ?? false;
    const refine = barCandidates(inputs.refine, training);
    const auxOutputs = requireBoolean(inputs.auxOutputs ?? true, 'auxOutputs');
    const batch = inputs.images.shape[0];
    const tokens = tokenTensors(inputs.tokenIds, inputs.attentionMask ?? null, batch, this.tokenizer.vocabSize);
    try {
      // The parse is plain JS; doing it first gives clear errors before any tensor work.
      const parsed = this.adapter.parse(tokens.rows, tokens.maskRows);
      const batchIndex: number[] = [];
      const segIndex: number[] = [];
      parsed.items.forEach((item, b) => item.segPositions.forEach((_, s) => (batchIndex.push(b), segIndex.push(s))));
      const maxSeg = parsed.maxSeg;
      const out = tidy(() => {
        const pix = inputs.pixelFeatures ?? this.encodePixels(inputs.images);
        const imageTokens = inputs.languagePrefix ?? this.languagePrefix(inputs.images, pix);
        const lm = this.languageModel.forward({ imageTokens, tokenIds: tokens.ids, attentionMask: tokens.mask });
        const cond = this.adapter.forward({
          tokenIds: tokens.rows,
          hiddenStates: this.adapterHiddenStates(lm.hiddenStates, tokens.ids),
          attentionMask: tokens.maskRows,
          training,
        });
        const words = this.phraseWords(tokens);
        const targets = this.decodeTargets(inputs.images, cond, words, pix, batchIndex, segIndex, maxSeg, {
          training,
          refine,
          auxOutputs,
        });
        return { lmLogits: lm.logits, ...targets };
      });
      return { ...out, batchIndex: Int32Array.from(batchIndex), segIndex: Int32Array.from(segIndex) };
    } finally {
      tokens.dispose();
    }
  }

  /** Tokens before the text in the language model: image tokens, then any object tokens. */
  get numPrefixTokens(): number {
    return this.visionEncoder.numImageTokens + (this.objectTokens ? this.config.decoder.numQueries : 0);
  }

  /**
   * The language model's prefix `[batch, numPrefixTokens, hidden]`: the vision encoder's image
   * tokens, then, with `config.languageModel.objectTokens`, one {@link ObjectTokenEncoder} token
   * per query of a condition-free decoder pass (the segmentor's view of each object).
   * @param images - `[batch, height, width, 3]` float32 in `[0, 1]`.
   * @param pixelFeatures - the images' {@link FlowSegModel.pixelFeatures} when the caller has them
   * already (not disposed).
   */
  languagePrefix(images: tf.Tensor4D, pixelFeatures?: PixelDecoderOutputs): tf.Tensor3D {
    const { height, width } = this.config.image;
    checkShapes({ images: { tensor: images, axes: ['batch', height, width, 3], dtypes: ['float32'] } });
    if (pixelFeatures) this.checkPixelFeatures(pixelFeatures, images.shape[0]);
    return tidy(() => {
      const imageTokens = this.visionEncoder.forward(images).tokens;
      if (!this.objectTokens) return imageTokens;
      const pass = this.conditionFreePass(images, pixelFeatures ?? this.encodePixels(images), { training: false, auxOutputs: false });
      const [batch, n, d] = pass.queries.shape;
      const flat = tf.reshape(pass.queries, [batch * n, d]) as tf.Tensor2D;
      const attributeLogits = this.attributeHead!.forward(flat).map((l) => tf.reshape(l, [batch, n, l.shape[1]]) as tf.Tensor3D);
      const objects = this.objectTokens.forward({ attributeLogits, objectLogits: pass.dec.predLogits, maskLogits: pass.dec.predMasks });
      return tf.concat([imageTokens, objects], 1) as tf.Tensor3D;
    });
  }

  /**
   * What the condition adapter pools: the language model's hidden states, plus the gated
   * token embeddings when the model has a {@link LexicalSkip} (`config.adapter.lexicalSkip`).
   * @param hiddenStates - `[batch, tokens, hidden]` from the language model.
   * @param tokenIds - `[batch, tokens]` int32, the same tokens.
   */
  adapterHiddenStates(hiddenStates: tf.Tensor3D, tokenIds: tf.Tensor2D): tf.Tensor3D {
    if (!this.lexicalSkip) return hiddenStates;
    return tf.tidy(() => this.lexicalSkip!.forward({ hiddenStates, tokenEmbeddings: this.languageModel.embedTokens(tokenIds) }));
  }

  /**
   * With a {@link LexicalSelector}: each phrase's pooled input word embeddings
   * `[batch, phrases, hidden]` (the adapter's pooling over `E(tokens)`), else `null`.
   */
  private phraseWords(tokens: ReturnType<typeof tokenTensors>): tf.Tensor3D | null {
    if (!this.lexicalSelector) return null;
    return this.adapter.pool({
      tokenIds: tokens.rows,
      hiddenStates: this.languageModel.embedTokens(tokens.ids),
      attentionMask: tokens.maskRows,
    }).phraseStates;
  }

  /**
   * Segmentation encoder → FPN pixel decoder: what the decoder passes read, computed once per
   * image when a caller needs both {@link FlowSegModel.languagePrefix} and
   * {@link FlowSegModel.forward} (pass it to both; the caller disposes it). A learned projection
   * of the 2-D sine encoding is added to the finest backbone map first: convolutions are
   * translation-equivariant, so without it the per-pixel mask features `F_pix` could not tell two
   * look-alike objects apart (Mask2Former's deformable pixel decoder gets positions from its
   * encoder's embeddings).
   * @param images - `[batch, height, width, 3]` float32 in `[0, 1]`.
   * @returns `features` (3 maps `[batch, height_i, width_i, convDim]`, coarsest first) and
   * `maskFeatures` `[batch, maskHeight, maskWidth, maskDim]`.
   */
  pixelFeatures(images: tf.Tensor4D): PixelDecoderOutputs {
    const { height, width } = this.config.image;
    checkShapes({ images: { tensor: images, axes: ['batch', height, width, 3], dtypes: ['float32'] } });
    return tidy(() => this.encodePixels(images));
  }

  /** Pixel features given by a caller: this model's widths, mask size and the images' batch. */
  private checkPixelFeatures(pix: PixelDecoderOutputs, batch: number): void {
    if (!pix || !Array.isArray(pix.features) || pix.features.length !== 3 || !(pix.maskFeatures instanceof tf.Tensor)) {
      throw new ValueError('pixelFeatures: expected { features: 3 tensors, maskFeatures: tensor } as pixelFeatures() returns', 'pixelFeatures');
    }
    const [mh, mw] = this.maskSize;
    const { convDim, maskDim } = this.pixelDecoder;
    checkShapes({
      'pixelFeatures.maskFeatures': { tensor: pix.maskFeatures, axes: [batch, mh, mw, maskDim], dtypes: ['float32'] },
      ...Object.fromEntries(
        pix.features.map((t, i) => [`pixelFeatures.features[${i}]`, { tensor: t, axes: [batch, `height${i}`, `width${i}`, convDim], dtypes: ['float32'] }]),
      ),
    });
  }

  private encodePixels(images: tf.Tensor4D): PixelDecoderOutputs {
    const seg = this.segmentationEncoder.forward(images);
    const [, h, w, c] = seg.pixel.shape;
    const position = tf.reshape(this.pixelPosition.forward(this.positionTable(h, w)), [1, h, w, c]);
    return this.pixelDecoder.forward({
      backboneFeatures: [tf.add(seg.pixel, position) as tf.Tensor4D, seg.features[2], seg.features[1], seg.features[0]],
    });
  }

  /** The fixed sine encoding `[h·w, 32]` of the finest backbone map (built with the model). */
  private positionTable(h: number, w: number): tf.Tensor2D {
    if (!this.positionCache || this.positionCache.shape[0] !== h * w) {
      throw new ValueError(`images: the finest backbone map is ${h}×${w}, expected the configured size`, 'images');
    }
    return this.positionCache;
  }

  /** Decoder, BAR and selection for every target row (inside the caller's tidy). */
  private decodeTargets(
    images: tf.Tensor4D,
    cond: ReturnType<LlmConditionAdapter['forward']>,
    words: tf.Tensor3D | null,
    pix: PixelDecoderOutputs,
    batchIndex: number[],
    segIndex: number[],
    maxSeg: number,
    { training, refine, auxOutputs }: { training: boolean; refine: BarCandidates; auxOutputs: boolean },
  ): Omit<FlowSegOutputs, 'batchIndex' | 'segIndex' | 'lmLogits'> {
    const rows = batchIndex.length;
    const n = this.config.decoder.numQueries;
    const d = this.config.decoder.hiddenDim;
    const [mh, mw] = this.maskSize;
    const numConditions = cond.conditions.shape[1];
    if (rows === 0) {
      const z4 = tf.zeros([0, n, mh, mw]) as tf.Tensor4D;
      return {
        classLogits: tf.zeros([0, n, 2]) as tf.Tensor3D,
        rawCandidateLogits: z4,
        candidateLogits: tf.clone(z4),
        queries: tf.zeros([0, n, d]) as tf.Tensor3D,
        scores: tf.zeros([0, n]) as tf.Tensor2D,
        selectedIndex: tf.zeros([0], 'int32') as tf.Tensor1D,
        selectedLogits: tf.zeros([0, mh, mw]) as tf.Tensor3D,
        conditions: tf.zeros([0, numConditions, d]) as tf.Tensor3D,
        conditionMask: tf.zeros([0, numConditions]) as tf.Tensor2D,
        auxOutputs: [],
      };
    }
    const items = tf.tensor1d(batchIndex, 'int32');
    const flat = tf.tensor1d(
      batchIndex.map((b, r) => b * maxSeg + segIndex[r]!),
      'int32',
    );
    const perRow = <T extends tf.Tensor>(t: T): T => tf.gather(t, items) as T;
    const batch = cond.segEmbeddings.shape[0];
    const s = tf.gather(tf.reshape(cond.segEmbeddings, [batch * maxSeg, d]), flat) as tf.Tensor2D; // S per target
    const tied = tf.gather(tf.reshape(cond.segConditionMask, [batch * maxSeg, numConditions]), flat);
    const conditionMask = tf.mul(perRow(cond.conditionMask), tied) as tf.Tensor2D; // [R, Tc]
    const conditions = perRow(cond.conditions);
    const maskFeatures = perRow(pix.maskFeatures);
    const dec = this.decoder.forward({
      features: pix.features.map(perRow),
      maskFeatures,
      queryOffset: tf.expandDims(s, 1) as tf.Tensor3D, // Q⁽⁰⁾ = Q + S
      conditions: { conditions, conditionMask },
      training,
      auxOutputs,
    });
    const refined = dec.conditions?.conditions ?? conditions;
    // c = mean of the target's refined conditions; S when it has none.
    const count = tf.sum(conditionMask, -1, true); // [R, 1]
    const tiedMask = tf.expandDims(conditionMask, 2);
    // Mean over each target's tied phrases (zeros when it has none).
    const tiedMean = (x: tf.Tensor3D) => tf.div(tf.sum(tf.mul(x, tiedMask), 1), tf.maximum(count, 1)) as tf.Tensor2D;
    const mean = tiedMean(refined);
    const has = tf.minimum(count, 1);
    const c = tf.add(tf.mul(mean, has), tf.mul(s, tf.sub(1, has))) as tf.Tensor2D;
    // Selection reads queries, c and at most the raw masks, so it can run before BAR.
    const queries = this.candidateFeatures(dec.queries, dec.predMasks, images, items);
    let scores = this.selector.forward({ queries, condition: c });
    if (this.lexicalSelector && words) {
      // w̄ = mean word embedding of the target's tied phrases.
      scores = tf.add(scores, this.lexicalSelector.forward({ queries, words: tiedMean(perRow(words)) })) as tf.Tensor2D;
    }
    const selectedIndex = tf.cast(tf.argMax(scores, 1), 'int32') as tf.Tensor1D;
    const pick = tf.reshape(tf.oneHot(selectedIndex, n), [rows, n, 1, 1]);
    let candidates: tf.Tensor4D;
    let selectedLogits: tf.Tensor3D;
    if (this.bar && refine === 'selected') {
      const rawSelected = tf.sum(tf.mul(dec.predMasks, pick), 1, true) as tf.Tensor4D; // [R, 1, h, w]
      const refinedSelected = this.bar.forward({ maskLogits: rawSelected, pixelFeatures: maskFeatures }).refinedLogits;
      // Only the selected slot changes: raw + onehot ⊙ (refined − raw).
      candidates = tf.add(dec.predMasks, tf.mul(pick, tf.sub(refinedSelected, rawSelected))) as tf.Tensor4D;
      selectedLogits = tf.squeeze(refinedSelected, [1]) as tf.Tensor3D;
    } else {
      candidates = this.bar
        ? this.bar.forward({ maskLogits: dec.predMasks, pixelFeatures: maskFeatures, training }).refinedLogits
        : (tf.clone(dec.predMasks) as tf.Tensor4D);
      selectedLogits = tf.sum(tf.mul(candidates, pick), 1) as tf.Tensor3D;
    }
    return {
      classLogits: dec.predLogits,
      rawCandidateLogits: dec.predMasks,
      candidateLogits: candidates,
      queries,
      scores,
      selectedIndex,
      selectedLogits,
      conditions: refined,
      conditionMask,
      auxOutputs: dec.auxOutputs,
    };
  }

  /**
   * The segmentor alone (training stage 1, class-agnostic instance masks): segmentation
   * encoder → pixel decoder → decoder from the learned queries without conditions (BSF layers
   * then act as standard Mask2Former layers) → BAR on the final masks.
   * @param images - `[batch, height, width, 3]` float32 in `[0, 1]`.
   */
  segmentorForward(images: tf.Tensor4D, training = false): SegmentorOutputs {
    const { height, width } = this.config.image;
    checkShapes({ images: { tensor: images, axes: ['batch', height, width, 3], dtypes: ['float32'] } });
    return tidy(() => {
      const pix = this.encodePixels(images);
      const { dec, queries } = this.conditionFreePass(images, pix, { training, auxOutputs: true });
      const predMasks = this.bar
        ? this.bar.forward({ maskLogits: dec.predMasks, pixelFeatures: pix.maskFeatures, training }).refinedLogits
        : dec.predMasks;
      return { predLogits: dec.predLogits, predMasks, auxOutputs: dec.auxOutputs, queries };
    });
  }

  /** The decoder from the learned queries without conditions, and its candidate features (inside the caller's tidy). */
  private conditionFreePass(
    images: tf.Tensor4D,
    pix: PixelDecoderOutputs,
    { training, auxOutputs }: { training: boolean; auxOutputs: boolean },
  ): { dec: ReturnType<Mask2FormerDecoder['forward']>; queries: tf.Tensor3D } {
    const dec = this.decoder.forward({ features: pix.features, maskFeatures: pix.maskFeatures, training, auxOutputs });
    return { dec, queries: this.candidateFeatures(dec.queries, dec.predMasks, images, null) };
  }

  /**
   * `Q_out`, plus each candidate's region embedding when the model has a region encoder.
   * `rowImages` maps rows to their batch item's image (`null`: one row per image); the images
   * are gathered only when an encoder reads them.
   */
  private candidateFeatures(queries: tf.Tensor3D, rawMasks: tf.Tensor4D, images: tf.Tensor4D, rowImages: tf.Tensor1D | null): tf.Tensor3D {
    if (!this.regionEncoder) return queries;
    const perRow = rowImages ? (tf.gather(images, rowImages) as tf.Tensor4D) : images;
    return tf.add(queries, this.regionEncoder.forward({ images: perRow, maskLogits: rawMasks })) as tf.Tensor3D;
  }

  /**
   * Resize mask logits `[targets, maskHeight, maskWidth]` to the image size
   * `[targets, height, width]` (bilinear, half-pixel centers as PyTorch's `align_corners=False`).
   */
  upsampleToImage(logits: tf.Tensor3D): tf.Tensor3D {
    const { height, width } = this.config.image;
    return tf.tidy(() => {
      const up = tf.image.resizeBilinear(tf.expandDims(logits, 3) as tf.Tensor4D, [height, width], false, true);
      return tf.squeeze(up, [3]) as tf.Tensor3D;
    });
  }

  /** Free the weights and the cached position table. */
  override dispose(): ReturnType<FlowSegLayer['dispose']> {
    this.positionCache?.dispose();
    this.positionCache = null;
    return super.dispose();
  }

  override call(): tf.Tensor {
    throw new ValueError('FlowSegModel is used through forward(); it has several typed inputs and outputs', 'inputs');
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      config: this.config as unknown as tf.serialization.ConfigDict,
      tokenizer: this.tokenizer.toJSON() as unknown as tf.serialization.ConfigDict,
    };
  }

  /** @internal Rebuild from {@link FlowSegModel.getConfig} (used by `tf.serialization`). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls({
      config: config['config'] as unknown as FlowSegConfig,
      tokenizer: WordTokenizer.fromJSON(config['tokenizer']),
      name: config['name'],
    });
  }
}
tf.serialization.registerClass(FlowSegModel);

/** Validate `inputs.refine` (see {@link BarCandidates}). */
function barCandidates(refine: unknown, training: boolean): BarCandidates {
  if (refine === undefined) return 'all';
  if (refine !== 'all' && refine !== 'selected') {
    throw new ValueError(`refine: expected 'all' or 'selected', got ${JSON.stringify(refine)}`, 'refine');
  }
  if (refine === 'selected' && training) {
    throw new ValueError(
      "refine: 'selected' is for inference; training needs every candidate refined (the losses read all of them)",
      'refine',
    );
  }
  return refine;
}
