import * as tf from '@tensorflow/tfjs';
import { sinePositionEncoding2d } from '@flowseg/core';
import { maskedAttentionMask, Mask2FormerDecoderLayer } from '@flowseg/mask2former-decoder';
import type { BSFDecoderLayer } from '@flowseg/bsf-layer';
import { boundaryBand, buildBandIndices, compactFeatureTaps } from '@flowseg/bar-head';
import { withAblation, type FlowSegConfig, type WordTokenizer } from '../../src/index.js';
import { barEvaluation, buildBenchModel, buildDecoderParts, type DecoderParts } from './decoderParts.js';
import { benchSample, ellipseMaskLogits } from './fixtures.js';
import {
  STANDARD_LAYER,
  attentionFlops,
  barFlopsFor,
  attentionLayoutDeltaFlops,
  bsfSwitchesOf,
  decoderLayerLayoutDeltaFlops,
  decoderLayoutDeltaFlops,
  modelLayoutDeltaFlops,
  visionEncoderLayoutDeltaFlops,
  decoderFlops,
  decoderLayerFlops,
  languageModelFlops,
  modelFlops,
  modelGeometry,
  pixelDecoderFlops,
  segmentationEncoderFlops,
  selectionFlops,
  visionEncoderFlops,
  type BandCounts,
  type DecoderSizes,
} from './flops.js';
import { tensorsOf, type TimedCase } from './timing.js';

/** A component call to time, with its analytic cost. */
export interface ComponentCase extends TimedCase {
  /** What is measured, for the table. */
  readonly label: string;
  /** Analytic FLOPs of one call. */
  readonly flops: number;
  /** FLOPs the kernels run beyond the analytic count (block layouts' zeros; negative for folded attention layouts). */
  readonly layoutDeltaFlops: number;
  /** Parameters the call uses. */
  readonly params: number;
}

/** Condition slots `T` of every component measurement (the brief: 8 conditions). */
export const BENCH_CONDITIONS = 8;

/**
 * BAR's band on `maskLogits`, as the layer computes it, reduced to what its cost depends on
 * (nothing with `'dense'` evaluation, whose cost does not depend on the band).
 */
export function bandCounts(maskLogits: tf.Tensor4D, config: FlowSegConfig): BandCounts & { fraction: number } {
  if (barEvaluation() === 'dense') return { hiddenCount: 0, imageCount: 0, compPixels: 0, fraction: NaN };
  const band = tf.tidy(() => boundaryBand(tf.sigmoid(maskLogits) as tf.Tensor4D, { epsilon: config.bar.epsilon, kernel: config.bar.bandKernel }));
  const values = band.dataSync();
  band.dispose();
  const idx = buildBandIndices(values, maskLogits.shape, 3);
  const [b, , h, w] = maskLogits.shape;
  const compPixels = compactFeatureTaps(idx.featureTaps, b * h * w).pixels.length;
  return { hiddenCount: idx.hiddenCount, imageCount: idx.imageCount, compPixels, fraction: idx.bandCount / values.length };
}

/** Everything one preset's measurements need, built once. */
export interface PresetBench {
  /** Component cases, in table order. */
  readonly cases: readonly ComponentCase[];
  /** The standard and BSF decoders and BAR. */
  readonly parts: DecoderParts;
  /** Fraction of mask pixels in BAR's band on the ellipse masks. */
  readonly bandFraction: number;
  /** Parameters of the whole model with BSF + BAR and of the baseline model. */
  readonly modelParams: { readonly full: number; readonly baseline: number };
  /** Free every tensor and weight. */
  dispose(): void;
}

/**
 * Build one preset's component cases: each part of the model on its own, with inputs of the
 * size it sees inside `FlowSegModel.forward` (one image, one target, `T` = 8 conditions for
 * the decoder-side parts), plus the whole decoder (standard and BSF), the whole model with
 * BSF + BAR and the baseline model.
 */
export function buildPresetBench(preset: string, config: FlowSegConfig, tokenizer: WordTokenizer): PresetBench {
  const keep: tf.Tensor[] = [];
  const held = <T extends tf.Tensor>(t: T): T => {
    keep.push(t);
    return t;
  };
  const model = buildBenchModel(config, tokenizer);
  const baseline = buildBenchModel(withAblation(config, 'baseline'), tokenizer);
  const evaluation = barEvaluation();
  const bandLabel = (fraction: number, digits: number) =>
    evaluation === 'dense' ? 'dense evaluation' : `${(100 * fraction).toFixed(digits)} % in band`;
  const parts = buildDecoderParts(config);
  const sample = benchSample(config, tokenizer);
  const images = held(sample.images);
  const { hiddenDim: d, numQueries: n } = config.decoder;
  const geometry = modelGeometry(config);
  const { height: mh, width: mw } = geometry.maskSize;
  const sizes: DecoderSizes = { batch: 1, queries: n, conditions: BENCH_CONDITIONS };

  // Inputs of each part, computed once with the model's own upstream parts.
  const seg = model.segmentationEncoder.forward(images);
  keep.push(...seg.features, seg.pixel);
  const backboneFeatures = [seg.pixel, seg.features[2], seg.features[1], seg.features[0]];
  const pix = model.pixelDecoder.forward({ backboneFeatures });
  keep.push(...pix.features, pix.maskFeatures);
  const imageTokens = held(model.visionEncoder.forward(images).tokens);
  const tokenIds = held(tf.tensor2d(sample.tokenIds, undefined, 'int32'));
  const masks = held(ellipseMaskLogits(1, n, mh, mw));
  const band = bandCounts(masks, config);
  const conditions = {
    conditions: held(tf.randomNormal([1, BENCH_CONDITIONS, d], 0, 1, 'float32', 11) as tf.Tensor3D),
    conditionMask: held(tf.ones([1, BENCH_CONDITIONS]) as tf.Tensor2D),
  };
  const queries = held(tf.randomNormal([1, n, d], 0, 1, 'float32', 12) as tf.Tensor3D);
  const queryPos = held(tf.randomNormal([1, n, d], 0, 1, 'float32', 13) as tf.Tensor3D);

  const cases: ComponentCase[] = [];
  const add = (key: string, label: string, flops: number, params: number, run: () => unknown, layoutDeltaFlops = 0) =>
    cases.push({ key: `${preset}.${key}`, label, flops, params, run, layoutDeltaFlops });

  add('segmentationEncoder', 'segmentation encoder', segmentationEncoderFlops(config), model.segmentationEncoder.countParams(), () => {
    const out = model.segmentationEncoder.forward(images);
    return [...out.features, out.pixel];
  });
  const { numHeads: heads } = config.decoder;
  add('visionEncoder', 'vision encoder', visionEncoderFlops(config), model.visionEncoder.countParams(), () => model.visionEncoder.forward(images).tokens, visionEncoderLayoutDeltaFlops(config));
  const textTokens = sample.tokenIds[0]!.length;
  add(
    'languageModel',
    `language model (${textTokens} text + ${imageTokens.shape[1]} image tokens)`,
    languageModelFlops(config, textTokens, tokenizer.vocabSize),
    model.languageModel.countParams(),
    () => model.languageModel.forward({ imageTokens, tokenIds }),
  );
  add('pixelDecoder', 'pixel decoder (FPN)', pixelDecoderFlops(config), model.pixelDecoder.countParams(), () => {
    const out = model.pixelDecoder.forward({ backboneFeatures });
    return [...out.features, out.maskFeatures];
  });

  // One layer of each type per decoder scale, with a masked-attention mask from the ellipses.
  const standardLayer = new Mask2FormerDecoderLayer({ hiddenDim: d, numHeads: config.decoder.numHeads, ffnDim: config.decoder.ffnDim, seed: 3 });
  standardLayer.ensureBuilt();
  const bsfLayer = parts.bsf.layers[0] as unknown as BSFDecoderLayer;
  const context = { layerIndex: 0, numLayers: 1, level: 0, training: false, extras: new Map<string, tf.Tensor>() };
  geometry.decoderScales.forEach((scale, level) => {
    const pixels = scale.height * scale.width;
    if (config.pixelDecoder.convDim !== d) throw new Error('bench: layer inputs assume convDim = hiddenDim');
    const layerInputs = {
      queries,
      queryPos,
      memory: held(tf.reshape(pix.features[level]!, [1, pixels, d]) as tf.Tensor3D),
      memoryPos: held(tf.expandDims(sinePositionEncoding2d(scale.height, scale.width, d), 0) as tf.Tensor3D),
      attentionMask: held(maskedAttentionMask(masks, [scale.height, scale.width])),
    };
    const at = `${scale.height}×${scale.width}`;
    add(
      `layer.standard.${level}`,
      `decoder layer, standard (memory ${at})`,
      decoderLayerFlops(config, sizes, pixels, STANDARD_LAYER).total,
      standardLayer.countParams(),
      () => standardLayer.forwardLayer(layerInputs, { ...context, conditions: null }),
      decoderLayerLayoutDeltaFlops(config, sizes, STANDARD_LAYER),
    );
    add(
      `layer.bsf.${level}`,
      `decoder layer, BSF (memory ${at})`,
      decoderLayerFlops(config, sizes, pixels, bsfSwitchesOf(config)).total,
      bsfLayer.countParams(),
      () => {
        const out = bsfLayer.forward({ ...layerInputs, conditions });
        return out.conditions === conditions ? out.queries : [out.queries, out.conditions?.conditions ?? []];
      },
      decoderLayerLayoutDeltaFlops(config, sizes, bsfSwitchesOf(config)),
    );
  });

  const sr = bsfLayer.semanticAttention;
  const cr = bsfLayer.conditionRefiner;
  if (sr) {
    const gateFlops = 4 * n * d * d;
    add('bsf.sr', 'BSF extra: SR (semantic attention + gate)', attentionFlops(n, BENCH_CONDITIONS, d) + gateFlops, sr.countParams(), () => {
      const out = sr.forward({ queries, queryPos, ...conditions });
      return [out.fused, out.semantic, out.gate];
    }, attentionLayoutDeltaFlops(n, BENCH_CONDITIONS, d, heads));
    add('bsf.gate', 'BSF extra: gate alone', gateFlops, sr.gate.countParams(), () => {
      const out = sr.gate.forward({ visual: queries, semantic: queryPos });
      return [out.fused, out.gate];
    });
  }
  if (cr) {
    add(
      'bsf.cr',
      'BSF extra: CR (condition refinement)',
      attentionFlops(BENCH_CONDITIONS, n, d),
      cr.countParams(),
      () => cr.forward({ ...conditions, queries, queryPos }),
      attentionLayoutDeltaFlops(BENCH_CONDITIONS, n, d, heads),
    );
  }
  add(
    'bar',
    `BAR (${n} masks ${mh}×${mw}, ${bandLabel(band.fraction, 1)})`,
    barFlopsFor(evaluation, config, band, n, mh * mw),
    parts.bar.countParams(),
    () => {
      const out = parts.bar.forward({ maskLogits: masks, pixelFeatures: pix.maskFeatures });
      return [out.refinedLogits, out.band, out.delta];
    },
  );
  // What inference runs with `refine: 'selected'`: BAR on the one selected mask per target.
  const oneMask = held(tf.slice(masks, [0, 0, 0, 0], [1, 1, mh, mw]) as tf.Tensor4D);
  const oneBand = bandCounts(oneMask, config);
  add(
    'bar.selected',
    `BAR, selected mask only (1 mask ${mh}×${mw}, ${bandLabel(oneBand.fraction, 1)})`,
    barFlopsFor(evaluation, config, oneBand, 1, mh * mw),
    parts.bar.countParams(),
    () => {
      const out = parts.bar.forward({ maskLogits: oneMask, pixelFeatures: pix.maskFeatures });
      return [out.refinedLogits, out.band, out.delta];
    },
  );
  const condition = held(tf.randomNormal([1, d], 0, 1, 'float32', 14) as tf.Tensor2D);
  add('selection', 'selection (ConditionQuerySelector)', selectionFlops(config, 1, n), model.selector.countParams(), () =>
    model.selector.forward({ queries, condition }),
  );
  const decoderInputs = { features: pix.features, maskFeatures: pix.maskFeatures, auxOutputs: false };
  add(
    'decoder.standard',
    'decoder, standard layers (baseline)',
    decoderFlops(config, sizes, STANDARD_LAYER),
    parts.standard.countParams(),
    () => parts.standard.forward(decoderInputs),
    decoderLayoutDeltaFlops(config, sizes, STANDARD_LAYER),
  );
  add(
    'decoder.bsf',
    'decoder, BSF layers',
    decoderFlops(config, sizes, bsfSwitchesOf(config)),
    parts.bsf.countParams(),
    () => parts.bsf.forward({ ...decoderInputs, conditions }),
    decoderLayoutDeltaFlops(config, sizes, bsfSwitchesOf(config)),
  );

  // The whole model on the sample's prompt and answer. BAR's cost depends on its band, so it
  // is counted from this model's own masks (random weights: a large band).
  const first = model.forward({ images, tokenIds: sample.tokenIds, auxOutputs: false });
  const modelBand = bandCounts(first.rawCandidateLogits, config);
  const selectedRaw = tf.tidy(() => {
    const pick = tf.reshape(tf.oneHot(first.selectedIndex, n), [-1, n, 1, 1]);
    return tf.sum(tf.mul(first.rawCandidateLogits, pick), 1, true) as tf.Tensor4D;
  });
  const selectedBand = bandCounts(selectedRaw, config);
  selectedRaw.dispose();
  const prompt = {
    textTokens,
    vocabSize: tokenizer.vocabSize,
    conditions: first.conditionMask.shape[1],
    targets: first.selectedLogits.shape[0],
  };
  tf.dispose(tensorsOf(first));
  add(
    'model.full',
    `whole model, BSF + BAR (${prompt.conditions} condition(s), ${bandLabel(modelBand.fraction, 0)})`,
    modelFlops(config, prompt, modelBand, evaluation),
    model.countParams(),
    () => model.forward({ images, tokenIds: sample.tokenIds, auxOutputs: false }),
    modelLayoutDeltaFlops(config, prompt),
  );
  add(
    'model.selected',
    `whole model, BSF + BAR on the selected mask (refine: 'selected', ${bandLabel(selectedBand.fraction, 0)})`,
    modelFlops(config, prompt, selectedBand, evaluation, 'selected'),
    model.countParams(),
    () => model.forward({ images, tokenIds: sample.tokenIds, refine: 'selected', auxOutputs: false }),
    modelLayoutDeltaFlops(config, prompt),
  );
  const baselineConfig = withAblation(config, 'baseline');
  add(
    'model.baseline',
    'whole model, baseline (no SR, CR, BAR)',
    modelFlops(baselineConfig, prompt, null),
    baseline.countParams(),
    () => baseline.forward({ images, tokenIds: sample.tokenIds, auxOutputs: false }),
    modelLayoutDeltaFlops(baselineConfig, prompt),
  );

  return {
    cases,
    parts,
    bandFraction: band.fraction,
    modelParams: { full: model.countParams(), baseline: baseline.countParams() },
    dispose: () => {
      tf.dispose(keep);
      standardLayer.dispose();
      parts.dispose();
      model.dispose();
      baseline.dispose();
    },
  };
}
