/**
 * The workloads of runtimes.bench.ts, built identically (seeded) in the parent process and in
 * the single-thread TF.js child: the whole FlowSeg model at the `small` preset and the FlowSeg
 * decoder (Mask2Former with BSF layers) at the paper's configuration.
 */
import * as tf from '@tensorflow/tfjs';
import { bsfLayerFactory } from '@flowseg/bsf-layer';
import { Mask2FormerDecoder } from '@flowseg/mask2former-decoder';
import { FlowSegModel, SMALL_CONFIG, WordTokenizer } from '@flowseg/flowseg-model';
import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';

/** The decoder at the paper's configuration: N = 200, L = 9, D = 256, 8 heads, FFN 2048. */
export const DECODER_CONFIG = { numQueries: 200, numLayers: 9, hiddenDim: 256, numHeads: 8, ffnDim: 2048, maskDim: 256, numClasses: 1 };
/** Feature scales (strides 32/16/8 of a 256² image) and mask features (stride 4), as the decoder bench. */
export const DECODER_SIZES: ReadonlyArray<[number, number]> = [
  [8, 8],
  [16, 16],
  [32, 32],
];
/** Mask-feature size of the decoder workload. */
export const DECODER_MASK: [number, number] = [64, 64];
/** Conditions per target in the decoder workload. */
export const DECODER_CONDITIONS = 4;

/** FlowSeg at SMALL_CONFIG, one 64×64 image, one `<SEG>` with two phrases. */
export function modelCase() {
  const tokenizer = new WordTokenizer([...new Set([...VOCABULARY_WORDS, 'describe', 'image'])]);
  const model = new FlowSegModel({ config: SMALL_CONFIG, tokenizer });
  const enc = tokenizer.encodeBatch(['describe the image <p> red ball </p> left of <p> blue cube </p> <SEG>'], { addBos: true, addEos: true });
  const images = tf.randomUniform([1, SMALL_CONFIG.image.height, SMALL_CONFIG.image.width, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  return { model, images, tokenIds: enc.ids, attentionMask: enc.attentionMask };
}

/** The FlowSeg decoder (BSF layers) at the paper's configuration with its inputs (batch 1). */
export function decoderCase() {
  const decoder = new Mask2FormerDecoder({ ...DECODER_CONFIG, seed: 0, layerFactory: bsfLayerFactory({ seed: 1 }) });
  decoder.ensureBuilt();
  const d = DECODER_CONFIG.hiddenDim;
  const features = DECODER_SIZES.map(([h, w], i) => tf.randomNormal([1, h, w, d], 0, 1, 'float32', 20 + i) as tf.Tensor4D);
  const maskFeatures = tf.randomNormal([1, ...DECODER_MASK, DECODER_CONFIG.maskDim], 0, 1, 'float32', 24) as tf.Tensor4D;
  const queryOffset = tf.randomNormal([1, 1, d], 0, 1, 'float32', 25) as tf.Tensor3D;
  const conditions = tf.randomNormal([1, DECODER_CONDITIONS, d], 0, 1, 'float32', 26) as tf.Tensor3D;
  const conditionMask = tf.ones([1, DECODER_CONDITIONS]) as tf.Tensor2D;
  return { decoder, features, maskFeatures, queryOffset, conditions, conditionMask };
}
