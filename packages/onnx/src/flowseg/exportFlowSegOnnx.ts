import { ValueError } from '@flowseg/core';
import { FlowSegModel } from '@flowseg/flowseg-model';
import type { PhrasePooling, SpecialTokenIds } from '@flowseg/llm-condition-adapter';
import type { OnnxModelOptions } from '../graph/OnnxGraphBuilder.js';
import {
  adapterGraph,
  decoderGraph,
  languageModelGraph,
  segmentorGraph,
  visionGraph,
  type FlowSegGraphOptions,
} from './flowSegGraphs.js';

/** Options of {@link exportFlowSegOnnx}. */
export interface ExportFlowSegOnnxOptions extends OnnxModelOptions {
  /**
   * Leave the spatial axes of the `segmentor` and `decoder` graphs symbolic (positional
   * encodings computed in the graph) instead of fixing them to `model.config.image`
   * (default false: fixed, so the encodings are constants and ONNX Runtime folds every shape
   * computation). The `vision` graph is always fixed: its positions are learned for one size.
   */
  readonly dynamicSpatial?: boolean;
  /** Also output the decoder's deep-supervision predictions (`auxClassLogits`, `auxMaskLogits`; default false). */
  readonly auxOutputs?: boolean;
  /** Version of the ONNX operator set (default 17). */
  readonly opsetVersion?: number;
}

/**
 * What the JavaScript glue of {@link OnnxFlowSegRunner} needs besides the graphs: sizes,
 * special tokens and the parsing/pooling rules of the model's adapter. Plain JSON.
 */
export interface FlowSegOnnxManifest {
  /** Format tag. */
  readonly format: 'flowseg-onnx';
  /** Format version. */
  readonly version: 1;
  /** Image size the graphs take `{ height, width }`. */
  readonly image: { readonly height: number; readonly width: number };
  /** Candidate mask size `[maskHeight, maskWidth]`. */
  readonly maskSize: readonly [number, number];
  /** Sizes `[height, width]` of the decoder's three feature scales, coarsest first. */
  readonly featureSizes: readonly (readonly [number, number])[];
  /** Decoder queries `N` (candidates per target). */
  readonly numQueries: number;
  /** Decoder width `D`. */
  readonly hiddenDim: number;
  /** Decoder layers `L`. */
  readonly numLayers: number;
  /** Language-model width. */
  readonly llmDim: number;
  /** Vocabulary size (token ids must be below it). */
  readonly vocabSize: number;
  /** Ids of `<p>`, `</p>`, `<SEG>`. */
  readonly specialTokens: SpecialTokenIds;
  /** Padding token id, or `null`. */
  readonly padId: number | null;
  /** Phrase pooling of the adapter. */
  readonly pooling: PhrasePooling;
  /** Whether the `<p>`/`</p>` tokens are pooled too. */
  readonly includeTags: boolean;
  /** The adapter's empty-phrase policy. */
  readonly emptyPhrase: 'error' | 'drop';
  /** Whether every sequence must contain a `<SEG>`. */
  readonly requireSeg: boolean;
  /** Whether BAR is part of the decoder graph. */
  readonly bar: boolean;
  /**
   * Whether the decoder graph has a candidate region encoder and so takes each target's image
   * (`images [targets, H, W, 3]`). Absent in manifests written before it existed: false.
   */
  readonly regionEncoder?: boolean;
  /**
   * Whether the adapter graph has a lexical skip and so takes the token ids (`tokenIds
   * [batch, T]` int32). Absent in manifests written before it existed: false.
   */
  readonly lexicalSkip?: boolean;
  /**
   * Whether the model has a lexical selector: the adapter graph then takes the token ids and
   * outputs `phraseWords [batch, C, llmDim]`, which the decoder graph takes per target. Absent
   * in manifests written before it existed: false.
   */
  readonly lexicalSelector?: boolean;
  /**
   * Whether the model has object tokens: the segmentor graph then also outputs `objectTokens
   * [batch, N, llmDim]`, which follow the image tokens in the language model's prefix. Absent in
   * manifests written before it existed: false.
   */
  readonly objectTokens?: boolean;
  /** Whether the decoder graph outputs the deep-supervision predictions. */
  readonly auxOutputs: boolean;
  /** Whether the segmentor/decoder spatial axes are symbolic. */
  readonly dynamicSpatial: boolean;
}

/**
 * FlowSeg as ONNX graphs plus the manifest the runner's JavaScript glue needs. Which part is
 * where:
 *
 * | part | graph inputs → outputs |
 * | --- | --- |
 * | `vision` | `images [batch, H, W, 3]` → `imageTokens [batch, I, llmDim]` |
 * | `languageModel` | `imageTokens`, `tokenIds [batch, T]` int32, `attentionMask [batch, T]` int32 → `hiddenStates [batch, T, llmDim]`, `logits [batch, T, vocab]` |
 * | JS | `<p>…</p>`/`<SEG>` parsing (`parseSpecialTokens`) and the pooling plan (`buildPoolingPlan`) |
 * | `adapter` | `hiddenStates` (+ `tokenIds [batch, T]` int32 with a lexical skip or selector), `spanWeights [batch, C, T]`, `segSelection [batch, K, T]`, `conditionMask [batch, C]`, `segMask [batch, K]` → `conditions [batch, C, D]`, `segEmbeddings [batch, K, D]` (+ `phraseWords [batch, C, llmDim]` with a lexical selector) |
 * | `segmentor` | `images` → `features0..2 [batch, h_i, w_i, D]` (coarsest first), `maskFeatures [batch, mh, mw, Dm]` (+ `objectTokens [batch, N, llmDim]` with object tokens, which the language model's `imageTokens` then end with) |
 * | JS | one row per `<SEG>` (target): its image's features, its `S`, its image's conditions masked by its tied phrases |
 * | `decoder` | `features0..2`, `maskFeatures [targets, …]`, `segEmbeddings [targets, D]`, `conditions [targets, C, D]`, `conditionMask [targets, C]` (+ `images [targets, H, W, 3]` with a region encoder, `phraseWords [targets, C, llmDim]` with a lexical selector) → `classLogits [targets, N, 2]`, `rawCandidateLogits`/`candidateLogits [targets, N, mh, mw]`, `scores [targets, N]`, `selectedIndex [targets]` int32, `selectedLogits [targets, mh, mw]`, `refinedConditions [targets, C, D]` (+ `auxClassLogits [L, targets, N, 2]`, `auxMaskLogits [L, targets, N, mh, mw]` with `auxOutputs`) |
 *
 * Batch, token, condition and target axes are dynamic; `C` must be ≥ 1 (the runner pads a
 * batch without any phrase with one 0-mask slot, which changes nothing). BAR is exported
 * with dense `f_refine` evaluation (same output as TF.js's band evaluation).
 */
export interface FlowSegOnnxModels {
  /** Vision encoder graph. */
  readonly vision: Uint8Array;
  /** Language model graph. */
  readonly languageModel: Uint8Array;
  /** Condition adapter graph (pooling matmuls + `φ_llm`). */
  readonly adapter: Uint8Array;
  /** Segmentation encoder + pixel decoder graph. */
  readonly segmentor: Uint8Array;
  /** Decode path graph (decoder with BSF, BAR, selection). */
  readonly decoder: Uint8Array;
  /** Sizes and rules for the JavaScript glue. */
  readonly manifest: FlowSegOnnxManifest;
}

/** Names of the graphs in {@link FlowSegOnnxModels}. */
export const FLOWSEG_ONNX_GRAPHS = ['vision', 'languageModel', 'adapter', 'segmentor', 'decoder'] as const;

/**
 * Export a `FlowSegModel`'s inference path as five ONNX graphs (see {@link FlowSegOnnxModels}
 * for the split) with the model's current weights, initializers named by their checkpoint
 * paths (`decoder.layers.0.cross_attn.multihead_attn.q_proj.kernel`). Run them with
 * {@link OnnxFlowSegRunner}.
 *
 * @example
 * ```ts
 * const models = exportFlowSegOnnx(model);
 * const runner = await OnnxFlowSegRunner.create(models, { intraOpNumThreads: 2 });
 * const out = await runner.forward({ images, tokenIds, attentionMask });
 * ```
 */
export function exportFlowSegOnnx(model: FlowSegModel, options: ExportFlowSegOnnxOptions = {}): FlowSegOnnxModels {
  if (!(model instanceof FlowSegModel)) throw new ValueError('model: expected a FlowSegModel', 'model');
  for (const key of ['dynamicSpatial', 'auxOutputs'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new ValueError(`${key}: expected a boolean, received ${String(options[key])}`, key);
    }
  }
  const graphOptions: FlowSegGraphOptions = {
    ...(options.opsetVersion === undefined ? {} : { opsetVersion: options.opsetVersion }),
    dynamicSpatial: options.dynamicSpatial ?? false,
    auxOutputs: options.auxOutputs ?? false,
  };
  const modelOptions: OnnxModelOptions = {
    ...(options.irVersion === undefined ? {} : { irVersion: options.irVersion }),
    ...(options.producerName === undefined ? {} : { producerName: options.producerName }),
    ...(options.producerVersion === undefined ? {} : { producerVersion: options.producerVersion }),
    ...(options.docString === undefined ? {} : { docString: options.docString }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  };
  const c = model.config;
  const enc = model.segmentationEncoder;
  const adapter = model.adapter;
  if (model.lexicalSelector && adapter.pooling === 'attention') {
    throw new ValueError("model: a lexical selector with 'attention' phrase pooling is not exportable (its word pooling weights come from the embeddings)", 'model');
  }
  const manifest: FlowSegOnnxManifest = {
    format: 'flowseg-onnx',
    version: 1,
    image: { height: c.image.height, width: c.image.width },
    maskSize: model.maskSize,
    featureSizes: enc.featureStrides.map((s) => [c.image.height / s, c.image.width / s] as const),
    numQueries: c.decoder.numQueries,
    hiddenDim: c.decoder.hiddenDim,
    numLayers: c.decoder.numLayers,
    llmDim: c.languageModel.hiddenSize,
    vocabSize: model.tokenizer.vocabSize,
    specialTokens: { ...adapter.specialTokens },
    padId: adapter.padId,
    pooling: adapter.pooling,
    includeTags: adapter.includeTags,
    emptyPhrase: adapter.emptyPhrase,
    requireSeg: adapter.requireSeg,
    bar: model.bar !== null,
    regionEncoder: model.regionEncoder !== null,
    lexicalSkip: model.lexicalSkip !== null,
    lexicalSelector: model.lexicalSelector !== null,
    objectTokens: model.objectTokens !== null,
    auxOutputs: graphOptions.auxOutputs,
    dynamicSpatial: graphOptions.dynamicSpatial,
  };
  const serialize = (g: { serialize(o: OnnxModelOptions): Uint8Array }) => g.serialize(modelOptions);
  return {
    vision: serialize(visionGraph(model, graphOptions)),
    languageModel: serialize(languageModelGraph(model, graphOptions)),
    adapter: serialize(adapterGraph(model, graphOptions)),
    segmentor: serialize(segmentorGraph(model, graphOptions)),
    decoder: serialize(decoderGraph(model, graphOptions)),
    manifest,
  };
}
