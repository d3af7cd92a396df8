import { sinePositionEncoding2d } from '@flowseg/core';
import type { FlowSegModel } from '@flowseg/flowseg-model';
import { sinePositionsFor } from '../exporters/positionEncoding.js';
import { attributeLogitsPort } from '../exporters/objectTokenExporters.js';
import { OnnxGraphBuilder } from '../graph/OnnxGraphBuilder.js';
import { OnnxExportContext } from '../export/OnnxExportContext.js';
import type { OnnxDim, OnnxElementType } from '../proto/onnxProto.js';

/** Options shared by the FlowSeg graph builders. @internal */
export interface FlowSegGraphOptions {
  /** Opset of the graphs. */
  readonly opsetVersion?: number;
  /** Spatial axes symbolic instead of fixed to the model's image size. */
  readonly dynamicSpatial: boolean;
  /** Expose the decoder's deep-supervision predictions. */
  readonly auxOutputs: boolean;
}

/** A graph under construction: builder plus an export context rooted at the whole model (initializers get checkpoint names). */
function start(model: FlowSegModel, name: string, options: FlowSegGraphOptions): { builder: OnnxGraphBuilder; ctx: OnnxExportContext } {
  const builder = new OnnxGraphBuilder({ name, ...(options.opsetVersion === undefined ? {} : { opsetVersion: options.opsetVersion }) });
  return { builder, ctx: new OnnxExportContext(builder, model) };
}

/** Declare `outputs` (name → value) as graph outputs through named Identities, then drop dead nodes. */
function finish(builder: OnnxGraphBuilder, outputs: Readonly<Record<string, { value: string; dtype: OnnxElementType }>>): OnnxGraphBuilder {
  for (const [name, { value, dtype }] of Object.entries(outputs)) {
    builder.addNode('Identity', [value], [name]);
    builder.addOutput(name, dtype);
  }
  builder.pruneUnused();
  return builder;
}

/** Reserve output names before any internal value can take them. */
function reserve(builder: OnnxGraphBuilder, names: readonly string[]): void {
  for (const n of names) builder.uniqueName(n);
}

const f32 = (value: string) => ({ value, dtype: 'float32' as const });

/** Spatial size of a stride-`s` map of the model's images (symbolic when dynamic). */
function spatial(model: FlowSegModel, stride: number, tag: string, options: FlowSegGraphOptions): [OnnxDim, OnnxDim] {
  if (options.dynamicSpatial) return [`height_s${stride}_${tag}`, `width_s${stride}_${tag}`];
  return [model.config.image.height / stride, model.config.image.width / stride];
}

/** `vision`: images `[batch, H, W, 3]` → `imageTokens [batch, imageTokens, llmDim]`. */
export function visionGraph(model: FlowSegModel, options: FlowSegGraphOptions): OnnxGraphBuilder {
  const { builder, ctx } = start(model, 'flowseg_vision', options);
  const enc = model.visionEncoder;
  reserve(builder, ['imageTokens']);
  const images = builder.addInput('images', 'float32', ['batch', enc.imageHeight, enc.imageWidth, 3]);
  const { tokens } = ctx.emit(enc, { image: images }, 'vision_encoder');
  return finish(builder, { imageTokens: f32(tokens!) });
}

/** `languageModel`: `imageTokens`, `tokenIds`, `attentionMask` → `hiddenStates`, `logits`. */
export function languageModelGraph(model: FlowSegModel, options: FlowSegGraphOptions): OnnxGraphBuilder {
  const { builder, ctx } = start(model, 'flowseg_language_model', options);
  const lm = model.languageModel;
  reserve(builder, ['hiddenStates', 'logits']);
  const imageTokens = builder.addInput('imageTokens', 'float32', ['batch', 'imageTokens', lm.hiddenSize]);
  const tokenIds = builder.addInput('tokenIds', 'int32', ['batch', 'tokens']);
  const attentionMask = builder.addInput('attentionMask', 'int32', ['batch', 'tokens']);
  const out = ctx.emit(lm, { imageTokens, tokenIds, attentionMask }, 'language_model');
  return finish(builder, { hiddenStates: f32(out['hiddenStates']!), logits: f32(out['logits']!) });
}

/**
 * `adapter`: hidden states + the JS pooling plan → `conditions`, `segEmbeddings` (+ `phraseWords`,
 * the phrases' pooled input embeddings, with a lexical selector).
 */
export function adapterGraph(model: FlowSegModel, options: FlowSegGraphOptions): OnnxGraphBuilder {
  const { builder, ctx } = start(model, 'flowseg_adapter', options);
  const a = model.adapter;
  reserve(builder, ['conditions', 'segEmbeddings', ...(model.lexicalSelector ? ['phraseWords'] : [])]);
  let hiddenStates = builder.addInput('hiddenStates', 'float32', ['batch', 'tokens', a.llmDim]);
  const tokenIds = model.lexicalSkip || model.lexicalSelector ? builder.addInput('tokenIds', 'int32', ['batch', 'tokens']) : null;
  // E(tokens), the embedding table shared with the language model's checkpoint weights.
  const embedded = tokenIds
    ? ctx.op('Gather', [ctx.weight(model, 'language_model.embed_tokens.weight'), tokenIds], { axis: 0 }, 'embedded')
    : null;
  if (model.lexicalSkip) {
    // H' = H + E(tokens)·W.
    const h = hiddenStates;
    hiddenStates = ctx.withScope('lexical_skip', () =>
      ctx.op('Add', [h, ctx.op('MatMul', [embedded!, ctx.weight(model, 'lexical_skip.kernel')], {}, 'lexical')], {}, 'hidden_states'),
    );
  }
  const inputs = {
    hiddenStates,
    spanWeights: builder.addInput('spanWeights', 'float32', ['batch', 'conditions', 'tokens']),
    segSelection: builder.addInput('segSelection', 'float32', ['batch', 'targets', 'tokens']),
    conditionMask: builder.addInput('conditionMask', 'float32', ['batch', 'conditions']),
    segMask: builder.addInput('segMask', 'float32', ['batch', 'targets']),
  };
  const out = ctx.emit(a, inputs, 'adapter');
  const outputs: Record<string, { value: string; dtype: OnnxElementType }> = { conditions: f32(out['conditions']!), segEmbeddings: f32(out['segEmbeddings']!) };
  // Mean/last pooling: the plan's span weights are the pooling weights, so the words pool like the phrases.
  if (model.lexicalSelector) outputs['phraseWords'] = f32(ctx.op('MatMul', [inputs.spanWeights, embedded!], {}, 'phrase_words'));
  return finish(builder, outputs);
}

/**
 * The finest backbone map plus FlowSegModel's learned projection of a 2-D sine encoding of
 * its grid (`pixel_position`): the table is a constant for fixed sizes, computed in the graph
 * for dynamic ones; the projection reads the checkpoint weights (folded by the runtime).
 */
function withPixelPosition(ctx: OnnxExportContext, model: FlowSegModel, pixel: string, options: FlowSegGraphOptions): string {
  const kernel = model.namedWeights().get('pixel_position.kernel');
  if (!kernel) return pixel;
  const [tableChannels, channels] = kernel.shape as [number, number];
  let table: string;
  let gridShape: string;
  if (options.dynamicSpatial) {
    table = sinePositionsFor(ctx, pixel, tableChannels, 'table');
    gridShape = ctx.op('Concat', [ctx.int64([1]), ctx.op('Shape', [pixel], { start: 1, end: 3 }, 'grid'), ctx.int64([channels])], { axis: 0 }, 'grid_shape');
  } else {
    const stride = model.segmentationEncoder.pixelStride;
    const h = model.config.image.height / stride;
    const w = model.config.image.width / stride;
    const t = sinePositionEncoding2d(h, w, tableChannels);
    table = ctx.floatConstant('table', t.dataSync() as Float32Array, [h * w, tableChannels]);
    t.dispose();
    gridShape = ctx.int64([1, h, w, channels]);
  }
  const position = ctx.op('Reshape', [ctx.linear(model, 'pixel_position', table), gridShape], {}, 'grid');
  return ctx.op('Add', [pixel, position], {}, 'pixel');
}

/**
 * `segmentor`: images → segmentation encoder (+ the projected positions on its finest map) →
 * FPN → `features0..2` (coarsest first), `maskFeatures`; with object tokens also
 * `objectTokens [batch, N, llmDim]` (FlowSegModel's `languagePrefix`: a condition-free decoder
 * pass, its candidate features, the attribute head and the `ObjectTokenEncoder`).
 */
export function segmentorGraph(model: FlowSegModel, options: FlowSegGraphOptions): OnnxGraphBuilder {
  const { builder, ctx } = start(model, 'flowseg_segmentor', options);
  const names = ['features0', 'features1', 'features2', 'maskFeatures'];
  reserve(builder, model.objectTokens ? [...names, 'objectTokens'] : names);
  const [h, w] = spatial(model, 1, 'image', options);
  const images = builder.addInput('images', 'float32', ['batch', h, w, 3]);
  const seg = ctx.emit(model.segmentationEncoder, { image: images }, 'segmentation_encoder');
  const pixel = ctx.withScope('pixel_position', () => withPixelPosition(ctx, model, seg['pixel']!, options));
  const pix = ctx.emit(
    model.pixelDecoder,
    { backbone0: pixel, backbone1: seg['features2']!, backbone2: seg['features1']!, backbone3: seg['features0']! },
    'pixel_decoder',
  );
  const outputs = Object.fromEntries(names.map((n) => [n, f32(pix[n]!)]));
  if (model.objectTokens) outputs['objectTokens'] = f32(objectTokens(ctx, model, pix, images));
  return finish(builder, outputs);
}

/** Object tokens from the condition-free decoder pass over `pix` (see {@link segmentorGraph}). */
function objectTokens(ctx: OnnxExportContext, model: FlowSegModel, pix: Record<string, string>, images: string): string {
  const dec = ctx.emit(
    model.decoder,
    { features0: pix['features0']!, features1: pix['features1']!, features2: pix['features2']!, maskFeatures: pix['maskFeatures']! },
    'decoder',
  );
  const queries = model.regionEncoder
    ? ctx.op('Add', [dec['queries']!, ctx.emit(model.regionEncoder, { images, maskLogits: dec['predMasks']! }, 'region_encoder')['output']!], {}, 'object_features')
    : dec['queries']!;
  const attributes = ctx.withScope('attribute_head', () =>
    model.attributeHead!.classes.map((_, g) => ctx.linear(model, `attribute_head.group_${g}`, queries, `group_${g}`)),
  );
  const ports = Object.fromEntries(attributes.map((a, g) => [attributeLogitsPort(g), a]));
  return ctx.emit(model.objectTokens!, { ...ports, objectLogits: dec['predLogits']!, maskLogits: dec['predMasks']! }, 'object_tokens')['output']!;
}

/**
 * `decoder`: FlowSeg's decode path for per-target rows (FlowSegModel's `decodeTargets`):
 * Mask2Former decoder with BSF layers from `Q⁽⁰⁾ = Q + S` carrying the target's conditions,
 * BAR on the final masks, `c` = mean of the refined tied conditions (S when none), the region
 * embeddings of the raw masks (with a region encoder; needs `images` per target), selection
 * scores, argmax, and the selected candidate's logits.
 */
export function decoderGraph(model: FlowSegModel, options: FlowSegGraphOptions): OnnxGraphBuilder {
  const { builder, ctx } = start(model, 'flowseg_decoder', options);
  const c = model.config;
  const d = c.decoder.hiddenDim;
  const enc = model.segmentationEncoder;
  const outputs = [
    'classLogits',
    'rawCandidateLogits',
    'candidateLogits',
    'queries',
    'scores',
    'selectedIndex',
    'selectedLogits',
    'refinedConditions',
    ...(options.auxOutputs ? ['auxClassLogits', 'auxMaskLogits'] : []),
  ];
  reserve(builder, outputs);
  const features = enc.featureStrides.map((s, i) => {
    const [h, w] = spatial(model, s, `f${i}`, options);
    return builder.addInput(`features${i}`, 'float32', ['targets', h, w, c.pixelDecoder.convDim]);
  });
  const [mh, mw] = spatial(model, enc.pixelStride, 'mask', options);
  const maskFeatures = builder.addInput('maskFeatures', 'float32', ['targets', mh, mw, c.pixelDecoder.maskDim]);
  const segEmbeddings = builder.addInput('segEmbeddings', 'float32', ['targets', d]);
  const conditions = builder.addInput('conditions', 'float32', ['targets', 'conditions', d]);
  const conditionMask = builder.addInput('conditionMask', 'float32', ['targets', 'conditions']);
  // With a region encoder, selection also looks at each target's image around its candidates.
  const [ih, iw] = spatial(model, 1, 'image', options);
  const images = model.regionEncoder ? builder.addInput('images', 'float32', ['targets', ih, iw, 3]) : null;
  const phraseWords = model.lexicalSelector ? builder.addInput('phraseWords', 'float32', ['targets', 'conditions', c.languageModel.hiddenSize]) : null;

  const dec = ctx.emit(
    model.decoder,
    {
      features0: features[0]!,
      features1: features[1]!,
      features2: features[2]!,
      maskFeatures,
      queryOffset: ctx.op('Unsqueeze', [segEmbeddings, ctx.int64([1])], {}, 'query_offset'), // Q⁽⁰⁾ = Q + S
      conditions,
      conditionMask,
    },
    'decoder',
  );
  const refined = dec['conditions'] ?? conditions;
  const candidates = model.bar
    ? ctx.emit(model.bar, { maskLogits: dec['predMasks']!, pixelFeatures: maskFeatures }, 'bar')['refinedLogits']!
    : dec['predMasks']!;
  // Mean over each target's tied phrases (zeros when it has none).
  const count = ctx.op('ReduceSum', [conditionMask, ctx.int64([-1])], { keepdims: 1 }, 'tied_count');
  const tied = ctx.op('Unsqueeze', [conditionMask, ctx.int64([2])], {}, 'tied_3d');
  const countAtLeastOne = ctx.op('Max', [count, ctx.scalar(1)], {}, 'tied_count_1');
  const tiedMean = (x: string, hint: string) =>
    ctx.op('Div', [ctx.op('ReduceSum', [ctx.op('Mul', [x, tied], {}, `${hint}_weighted`), ctx.int64([1])], { keepdims: 0 }, `${hint}_sum`), countAtLeastOne], {}, hint);
  // c = mean of the target's refined conditions; S when it has none.
  const selection = ctx.withScope('selection', () => {
    const mean = tiedMean(refined, 'mean');
    const has = ctx.op('Min', [count, ctx.scalar(1)], {}, 'has');
    const fallback = ctx.op('Mul', [segEmbeddings, ctx.op('Sub', [ctx.scalar(1), has], {}, 'has_not')], {}, 'fallback');
    return ctx.op('Add', [ctx.op('Mul', [mean, has], {}, 'mean_kept'), fallback], {}, 'condition');
  });
  const queries = model.regionEncoder
    ? ctx.op(
        'Add',
        [dec['queries']!, ctx.emit(model.regionEncoder, { images: images!, maskLogits: dec['predMasks']! }, 'region_encoder')['output']!],
        {},
        'candidate_features',
      )
    : dec['queries']!;
  let scores = ctx.emit(model.selector, { queries, condition: selection }, 'selector')['scores']!;
  if (model.lexicalSelector) {
    const lexical = ctx.withScope('lexical_selector', () => lexicalScores(ctx, model, queries, tiedMean(phraseWords!, 'words')));
    scores = ctx.op('Add', [scores, lexical], {}, 'scores');
  }
  const best = ctx.op('ArgMax', [scores], { axis: 1, keepdims: 1 }, 'best'); // first maximum, as tf.argMax
  const selectedLogits = ctx.op('GatherND', [candidates, best], { batch_dims: 1 }, 'selected');
  const selectedIndex = ctx.op('Cast', [ctx.op('Squeeze', [best, ctx.int64([1])], {}, 'best_flat')], { to: 6 }, 'selected_index');
  const out: Record<string, { value: string; dtype: OnnxElementType }> = {
    classLogits: f32(dec['predLogits']!),
    rawCandidateLogits: f32(dec['predMasks']!),
    candidateLogits: f32(candidates),
    queries: f32(queries),
    scores: f32(scores),
    selectedIndex: { value: selectedIndex, dtype: 'int32' },
    selectedLogits: f32(selectedLogits),
    refinedConditions: f32(refined),
  };
  if (options.auxOutputs) {
    out['auxClassLogits'] = f32(dec['auxPredLogits']!);
    out['auxMaskLogits'] = f32(dec['auxPredMasks']!);
  }
  return finish(builder, out);
}

/** `LexicalSelector`'s scores from the targets' mean phrase words `w̄`: `(Q·W_q + b_q)·(w̄·W_w)/√P` per candidate, as in TF.js. */
function lexicalScores(ctx: OnnxExportContext, model: FlowSegModel, queries: string, words: string): string {
  const selector = model.lexicalSelector!;
  const w = ctx.op('Mul', [ctx.op('MatMul', [words, ctx.weight(model, 'lexical_selector.word_kernel')], {}, 'word_proj'), ctx.scalar(1 / Math.sqrt(selector.projectionDim))], {}, 'word_scaled');
  const q = ctx.linear(model, 'lexical_selector.query_proj', queries, 'query_proj');
  return ctx.op('ReduceSum', [ctx.op('Mul', [q, ctx.op('Unsqueeze', [w, ctx.int64([1])], {}, 'word_row')], {}, 'products'), ctx.int64([-1])], { keepdims: 0 }, 'lexical_scores');
}
