/**
 * Analytic FLOP counts of FlowSeg's components for one forward pass. Like `bsfLayerFlops`
 * (whose decoder-layer counts these reuse), only matrix products and convolutions are
 * counted, a multiply–add as 2 FLOPs; softmax, norms, activations, resizes and gathers are
 * left out. The benchmark checks every count against the FLOPs of the kernels that actually
 * ran (`kernelProfile.ts`), so a count that drifts from the code shows up in its output.
 */
import { bsfLayerFlops } from '@flowseg/bsf-layer';
import { attentionLayout, attentionLayoutFlops } from '@flowseg/core';
import type { FlowSegConfig } from '../../src/index.js';

/** `[m, k] × [k, n]`. */
export const matmulFlops = (m: number, k: number, n: number): number => 2 * m * k * n;

/** Multi-head attention, `nq` queries over `nk` keys, width `d`: q/k/v/out projections, scores, weighted sum (core's textbook count). */
export const attentionFlops = (nq: number, nk: number, d: number): number => attentionLayoutFlops('perHead', nq, nk, 1, d);

/**
 * FLOPs an unmasked attention call's kernels run beyond the textbook count
 * ({@link attentionFlops}), negative where they run fewer: `MultiHeadAttention` picks a layout
 * (core's `attentionLayout`) — the block-diagonal ones multiply `heads − 1` blocks of zeros,
 * the folded ones project `heads·n` rows of the short side instead of the long side's rows.
 * Not part of the analytic (algorithmic) counts, which stay the paper's equations; the
 * benchmark adds it when checking them against the kernels and reports the executed overhead
 * next to the analytic one.
 */
export function attentionLayoutDeltaFlops(nq: number, nk: number, d: number, heads: number): number {
  return attentionLayoutFlops(attentionLayout(nq, nk, heads, d), nq, nk, heads, d) - attentionFlops(nq, nk, d);
}

/** 3×3 kernels in the built-in encoder blocks and the FPN's output convs. */
const CONV_TAPS = 9;

/** Channels of the sine encoding `FlowSegModel` projects onto the finest backbone map. */
const PIXEL_POSITION_CHANNELS = 32;

/** A map's height and width. */
export interface MapSize {
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
}

/** Output map of encoder stage `k` (stride `2^(k+1)`). */
export function stageSize(c: FlowSegConfig, k: number): MapSize {
  const stride = 2 ** (k + 1);
  return { height: c.image.height / stride, width: c.image.width / stride };
}

const area = (s: MapSize): number => s.height * s.width;

/**
 * The geometry `FlowSegModel` derives from a config: with `n` encoder stages the FPN reads
 * stages `n−4 … n−1` (the finest is the pixel map), the decoder attends FPN levels 3, 2, 1
 * (coarsest first) and the masks live at level 0.
 */
export function modelGeometry(c: FlowSegConfig): { fpnStages: number[]; decoderScales: MapSize[]; maskSize: MapSize } {
  const n = c.segmentationEncoder.stageChannels.length;
  const fpnStages = [n - 4, n - 3, n - 2, n - 1];
  return {
    fpnStages,
    decoderScales: [fpnStages[3]!, fpnStages[2]!, fpnStages[1]!].map((k) => stageSize(c, k)),
    maskSize: stageSize(c, fpnStages[0]!),
  };
}

/** `ConvSegmentationEncoder`: per stage a 2×2 stride-2 patch embedding, then residual blocks (3×3 conv + 1×1 proj). */
export function segmentationEncoderFlops(c: FlowSegConfig, batch = 1): number {
  let flops = 0;
  let inChannels = 3;
  c.segmentationEncoder.stageChannels.forEach((channels, k) => {
    const pixels = batch * area(stageSize(c, k));
    flops += matmulFlops(pixels, 4 * inChannels, channels);
    const block = matmulFlops(pixels, CONV_TAPS * channels, channels) + matmulFlops(pixels, channels, channels);
    flops += c.segmentationEncoder.blocksPerStage[k]! * block;
    inChannels = channels;
  });
  return flops;
}

/** `FlowSegModel`'s learned projection of the sine encoding onto the pixel map (once per call, not per image). */
export function pixelPositionFlops(c: FlowSegConfig): number {
  const k = modelGeometry(c).fpnStages[0]!;
  return matmulFlops(area(stageSize(c, k)), PIXEL_POSITION_CHANNELS, c.segmentationEncoder.stageChannels[k]!);
}

/** `FpnPixelDecoder` on the model's four backbone maps: lateral 1×1 and output 3×3 conv per level, 1×1 mask-feature projection. */
export function pixelDecoderFlops(c: FlowSegConfig, batch = 1): number {
  const { convDim, maskDim } = c.pixelDecoder;
  let flops = 0;
  modelGeometry(c).fpnStages.forEach((k, i) => {
    const pixels = batch * area(stageSize(c, k));
    flops += matmulFlops(pixels, c.segmentationEncoder.stageChannels[k]!, convDim);
    flops += matmulFlops(pixels, CONV_TAPS * convDim, convDim);
    if (i === 0) flops += matmulFlops(pixels, convDim, maskDim);
  });
  return flops;
}

/** `PatchVisionEncoder`: patch embedding, pre-norm blocks (FFN width 2·width), 2-layer patch-merger MLP. */
export function visionEncoderFlops(c: FlowSegConfig, batch = 1): number {
  const { patchSize: p, width: w, depth, mergeSize: m } = c.visionEncoder;
  const patches = (c.image.height / p) * (c.image.width / p);
  const tokens = patches / (m * m);
  const merged = w * m * m;
  const block = attentionFlops(patches, patches, w) + 2 * matmulFlops(patches, w, 2 * w);
  return batch * (matmulFlops(patches, p * p * 3, w) + depth * block + matmulFlops(tokens, merged, merged) + matmulFlops(tokens, merged, c.languageModel.hiddenSize));
}

/** Image tokens the vision encoder hands to the language model. */
export function imageTokenCount(c: FlowSegConfig): number {
  const cell = c.visionEncoder.patchSize * c.visionEncoder.mergeSize;
  return (c.image.height / cell) * (c.image.width / cell);
}

/**
 * `TinyCausalLM.forward` over `imageTokens + textTokens` positions: pre-norm blocks and the
 * tied output head at the text positions.
 */
export function languageModelFlops(c: FlowSegConfig, textTokens: number, vocabSize: number, batch = 1): number {
  const { hiddenSize: d, numLayers, ffnSize } = c.languageModel;
  const length = imageTokenCount(c) + textTokens;
  const block = attentionFlops(length, length, d) + 2 * matmulFlops(length, d, ffnSize);
  return batch * (numLayers * block + matmulFlops(textTokens, d, vocabSize));
}

/**
 * The adapter on `rows` pooled phrase and `<SEG>` rows: pooling as one product with the
 * `[rows, textTokens]` pooling plan, then `φ_llm` (2-layer MLP, shared by C and S).
 */
export function adapterFlops(c: FlowSegConfig, rows: number, textTokens: number): number {
  const d = c.languageModel.hiddenSize;
  const h = c.adapter.projectionHiddenDim;
  return matmulFlops(rows, textTokens, d) + matmulFlops(rows, d, h) + matmulFlops(rows, h, c.decoder.hiddenDim);
}

/** Which BSF parts a decoder layer has. */
export interface BsfSwitches {
  /** SR + gate. */
  readonly semanticRefinement: boolean;
  /** CR. */
  readonly conditionRefinement: boolean;
}

/** The BSF parts `c` switches on. */
export const bsfSwitchesOf = (c: FlowSegConfig): BsfSwitches => ({
  semanticRefinement: c.bsf.semanticRefinement,
  conditionRefinement: c.bsf.conditionRefinement,
});

/** The standard Mask2Former layer: both BSF parts off. */
export const STANDARD_LAYER: BsfSwitches = { semanticRefinement: false, conditionRefinement: false };

/** Sizes of one decoder pass. */
export interface DecoderSizes {
  /** Targets decoded together (rows of the decoder batch). */
  readonly batch: number;
  /** Queries `N`. */
  readonly queries: number;
  /** Condition slots `T`. */
  readonly conditions: number;
}

/** The decoder pass of a prompt: one row per target, the model's queries, the prompt's conditions. */
export const promptDecoderSizes = (c: FlowSegConfig, prompt: PromptSizes): DecoderSizes => ({
  batch: prompt.targets,
  queries: c.decoder.numQueries,
  conditions: prompt.conditions,
});

/** One decoder layer attending `pixels` memory positions (`bsfLayerFlops`). */
export function decoderLayerFlops(c: FlowSegConfig, sizes: DecoderSizes, pixels: number, switches: BsfSwitches) {
  return bsfLayerFlops(
    {
      batch: sizes.batch,
      queries: sizes.queries,
      pixels,
      conditions: sizes.conditions,
      hiddenDim: c.decoder.hiddenDim,
      ffnDim: c.decoder.ffnDim,
    },
    switches,
  );
}

/** Layout FLOPs (see {@link attentionLayoutDeltaFlops}) of one decoder layer's unmasked attentions: self-attention, SR, CR. */
export function decoderLayerLayoutDeltaFlops(c: FlowSegConfig, sizes: DecoderSizes, switches: BsfSwitches): number {
  const { hiddenDim: d, numHeads: h } = c.decoder;
  const { queries: n, conditions: t } = sizes;
  const self = attentionLayoutDeltaFlops(n, n, d, h);
  const sr = switches.semanticRefinement && t > 0 ? attentionLayoutDeltaFlops(n, t, d, h) : 0;
  const cr = switches.conditionRefinement && t > 0 ? attentionLayoutDeltaFlops(t, n, d, h) : 0;
  return sizes.batch * (self + sr + cr);
}

/** Layout FLOPs of a whole decoder pass (L layers). */
export function decoderLayoutDeltaFlops(c: FlowSegConfig, sizes: DecoderSizes, switches: BsfSwitches): number {
  return c.decoder.numLayers * decoderLayerLayoutDeltaFlops(c, sizes, switches);
}

/** Layout FLOPs of the vision encoder's (unmasked) self-attentions. */
export function visionEncoderLayoutDeltaFlops(c: FlowSegConfig): number {
  const { patchSize: p, width: w, depth, numHeads } = c.visionEncoder;
  const patches = (c.image.height / p) * (c.image.width / p);
  return depth * attentionLayoutDeltaFlops(patches, patches, w, numHeads);
}

/** Layout FLOPs of the whole model: vision encoder and decoder (the language model's attentions are causal-masked, per head). */
export function modelLayoutDeltaFlops(c: FlowSegConfig, prompt: PromptSizes): number {
  return visionEncoderLayoutDeltaFlops(c) + decoderLayoutDeltaFlops(c, promptDecoderSizes(c, prompt), bsfSwitchesOf(c));
}

/** One prediction head call: `decoder_norm` → class logits and mask MLP, masks `mask_embed(Q)·F_pix`. */
export function predictionFlops(c: FlowSegConfig, sizes: DecoderSizes): number {
  return maskPredictionFlops(c, sizes, area(modelGeometry(c).maskSize)) + matmulFlops(sizes.batch * sizes.queries, c.decoder.hiddenDim, 2);
}

/** The mask half of a prediction at `pixels` mask pixels: mask MLP and `mask_embed(Q)·F`. */
function maskPredictionFlops(c: FlowSegConfig, sizes: DecoderSizes, pixels: number): number {
  const { hiddenDim: d } = c.decoder;
  const dm = c.pixelDecoder.maskDim;
  const n = sizes.batch * sizes.queries;
  return 2 * matmulFlops(n, d, d) + matmulFlops(n, d, dm) + matmulFlops(n, dm, pixels);
}

/**
 * The whole `Mask2FormerDecoder` pass: L layers over the 3 scales in turn; with `auxOutputs`
 * L + 1 full predictions, without (inference, the default here) each layer's attention mask
 * predicted at its scale (no class logits) and one full final prediction.
 */
export function decoderFlops(c: FlowSegConfig, sizes: DecoderSizes, switches: BsfSwitches, auxOutputs = false): number {
  const scales = modelGeometry(c).decoderScales;
  let flops = predictionFlops(c, sizes);
  for (let l = 0; l < c.decoder.numLayers; l++) {
    flops += auxOutputs ? predictionFlops(c, sizes) : maskPredictionFlops(c, sizes, area(scales[l % scales.length]!));
  }
  if (c.pixelDecoder.convDim !== c.decoder.hiddenDim) {
    flops += scales.reduce((s, m) => s + matmulFlops(sizes.batch * area(m), c.pixelDecoder.convDim, c.decoder.hiddenDim), 0);
  }
  for (let l = 0; l < c.decoder.numLayers; l++) {
    flops += decoderLayerFlops(c, sizes, area(scales[l % scales.length]!), switches).total;
  }
  return flops;
}

/** What BAR's band evaluation touches (from `buildBandIndices`). */
export interface BandCounts {
  /** Hidden-activation pixels |Q|. */
  readonly hiddenCount: number;
  /** Distinct image pixels |U| under them. */
  readonly imageCount: number;
  /** Distinct image pixels |V| the feature taps of U read: where `f_comp` runs (`F_pix` at the mask size). */
  readonly compPixels: number;
}

/**
 * `BoundaryAwareRefinement` with its default band evaluation and `F_pix` at the mask
 * resolution (as in `FlowSegModel`): `f_comp` at the |V| pixels the band's taps read, then
 * `f_refine`'s convs only at the band's hidden pixels |Q| and image pixels |U|.
 */
export function barFlops(c: FlowSegConfig, band: BandCounts): number {
  const { compChannels: cc, hiddenChannels: hid } = c.bar;
  const taps = CONV_TAPS; // f_refine's 3×3 kernel (BAR's default; FlowSegConfig does not change it)
  return (
    matmulFlops(band.compPixels, c.pixelDecoder.maskDim, cc) +
    matmulFlops(band.hiddenCount, taps, hid) +
    matmulFlops(band.imageCount, taps * cc, hid) +
    matmulFlops(band.hiddenCount, hid, taps)
  );
}

/** `BoundaryAwareRefinement` with `evaluation: 'dense'`: `f_refine`'s convs at every pixel of `masks` masks. */
export function barDenseFlops(c: FlowSegConfig, masks: number, maskPixels: number, featurePixels: number, batch = 1): number {
  const { compChannels: cc, hiddenChannels: hid } = c.bar;
  return (
    matmulFlops(batch * featurePixels, c.pixelDecoder.maskDim, cc) +
    matmulFlops(batch * maskPixels, CONV_TAPS * cc, hid) +
    matmulFlops(batch * masks * maskPixels, CONV_TAPS, hid) +
    matmulFlops(batch * masks * maskPixels, CONV_TAPS * hid, 1)
  );
}

/** BAR's FLOPs for the evaluation it runs: band counts for `'band'`, every pixel for `'dense'`. */
export function barFlopsFor(
  evaluation: 'band' | 'dense',
  c: FlowSegConfig,
  band: BandCounts,
  masks: number,
  maskPixels: number,
  batch = 1,
): number {
  return evaluation === 'band' ? barFlops(c, band) : barDenseFlops(c, masks, maskPixels, maskPixels, batch);
}

/** `ConditionQuerySelector`: both projections and the cosine products. */
export function selectionFlops(c: FlowSegConfig, targets: number, queries: number): number {
  const { hiddenDim: d } = c.decoder;
  const p = c.selection.projectionDim;
  return matmulFlops(targets * queries, d, p) + matmulFlops(targets, d, p) + targets * matmulFlops(queries, p, 1);
}

/** Inputs of {@link modelFlops} that the prompt decides. */
export interface PromptSizes {
  /** Text tokens (prompt + answer). */
  readonly textTokens: number;
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Phrase spans (condition rows). */
  readonly conditions: number;
  /** `<SEG>` targets. */
  readonly targets: number;
}

/**
 * `FlowSegModel.forward` on one image. `band` is what BAR's band evaluation touched in that
 * call; `evaluation` is BAR's evaluation mode; `refine` which candidates BAR refined (`'selected'`:
 * one mask per target, and `band` counted on those masks).
 */
export function modelFlops(
  c: FlowSegConfig,
  prompt: PromptSizes,
  band: BandCounts | null,
  evaluation: 'band' | 'dense' = 'band',
  refine: 'all' | 'selected' = 'all',
): number {
  const sizes = promptDecoderSizes(c, prompt);
  const maskPixels = area(modelGeometry(c).maskSize);
  const bsf = bsfSwitchesOf(c);
  return (
    visionEncoderFlops(c) +
    languageModelFlops(c, prompt.textTokens, prompt.vocabSize) +
    adapterFlops(c, prompt.conditions + prompt.targets, prompt.textTokens) +
    segmentationEncoderFlops(c) +
    pixelPositionFlops(c) +
    pixelDecoderFlops(c) +
    decoderFlops(c, sizes, bsf) +
    (c.bar.enabled && band
      ? barFlopsFor(evaluation, c, band, refine === 'all' ? c.decoder.numQueries : 1, maskPixels, prompt.targets)
      : 0) +
    selectionFlops(c, prompt.targets, c.decoder.numQueries)
  );
}
