import { NUM_FEATURE_LEVELS, Mask2FormerDecoder, Mask2FormerDecoderLayer, MaskEmbeddingMlp } from '@flowseg/mask2former-decoder';
import { findOnnxExporter, type OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import type { OnnxInputPort, OnnxOutputPort } from '../export/ports.js';
import { checkConditionPair, decoderLayerPorts } from './bsfExporters.js';
import { concatShape, given, layerNormAt, shapeSlice, staticSpatialSize, toFloat } from './graphOps.js';
import { sinePositionsFor } from './positionEncoding.js';

/** The standard Mask2Former layer: masked cross-attention → self-attention → FFN (post-norm). */
export const mask2FormerDecoderLayerExporter: OnnxLayerExporter<Mask2FormerDecoderLayer> = {
  signature: (layer) => ({
    inputs: decoderLayerPorts(layer.hiddenDim, false),
    outputs: [{ name: 'queries', dtype: 'float32', doc: 'Updated queries `[batch, queries, channels]`.' }],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const { queries, queryPos, memory, memoryPos, attentionMask } = inputs;
    const visual = ctx.emit(layer.crossAttention, given({ queries, queryPos, memory, memoryPos, attentionMask }), 'cross_attn')['output']!;
    const attended = ctx.emit(layer.selfAttention, given({ queries: visual, queryPos }), 'self_attn')['output']!;
    return { queries: ctx.emit(layer.feedForward, { x: attended }, 'ffn')['output']! };
  },
};

/** Mask2Former's mask-embedding MLP: linear layers with ReLU between them. */
export const maskEmbeddingMlpExporter: OnnxLayerExporter<MaskEmbeddingMlp> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'queries', layer.inputDim], anyLeadingAxes: true, doc: 'Features `[..., inputDim]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Embeddings `[..., outputDim]`.' }],
  }),
  emit: (layer, { x }, ctx) => {
    layer.ensureBuilt();
    return { output: mlpAt(ctx, layer, '', layer.numLayers, x!) };
  },
};

/** `numLayers` linears `<prefix>layers.<i>` with ReLU between them. */
function mlpAt(ctx: OnnxExportContext, owner: MaskEmbeddingMlp | Mask2FormerDecoder, prefix: string, numLayers: number, x: string): string {
  let h = x;
  for (let i = 0; i < numLayers; i++) {
    h = ctx.linear(owner, `${prefix}layers.${i}`, h);
    if (i < numLayers - 1) h = ctx.op('Relu', [h], {}, `${prefix}layers.${i}/relu`);
  }
  return h;
}

/** Number of linears of the decoder's `mask_embed` MLP, read from its weights. */
function maskEmbedDepth(layer: Mask2FormerDecoder): number {
  let n = 0;
  while (layer.namedWeights().has(`mask_embed.layers.${n}.kernel`)) n++;
  return n;
}

/**
 * Mask2Former's masked-attention mask from mask logits already at the attended scale,
 * `[batch, queries, h·w]`: `σ < 0.5` blocks, rows blocked everywhere are unblocked. Bool
 * `[batch, queries, h·w]`, `true` = blocked.
 */
function maskedAttentionMask(ctx: OnnxExportContext, logits: string, hint: string): string {
  const blocked = ctx.op('Less', [ctx.op('Sigmoid', [logits], {}, `${hint}/probs`), ctx.scalar(0.5)], {}, `${hint}/blocked`);
  const open = ctx.op('ReduceMax', [toFloat(ctx, ctx.op('Not', [blocked], {}, `${hint}/open`), `${hint}/open_f32`)], { axes: [-1], keepdims: 1 }, `${hint}/row_open`);
  return ctx.op('And', [blocked, ctx.op('Cast', [open], { to: 9 }, `${hint}/row_has_open`)], {}, hint);
}

/** Mask features `[batch, h, w, maskDim]` as columns `[batch, maskDim, h·w]`, so a mask prediction is one batched MatMul. */
function pixelColumns(ctx: OnnxExportContext, features: string, maskDim: number, hint: string): string {
  return ctx.op('Transpose', [ctx.op('Reshape', [features, ctx.int64([0, -1, maskDim])], {}, `${hint}_flat`)], { perm: [0, 2, 1] }, `${hint}_t`);
}

/**
 * `Mask2FormerDecoder` with any layers that have exporters (standard layers, BSF layers):
 * learned queries (+ `queryOffset`), per-scale memory `input_proj_i(F_i) + level_embed_i`
 * with sine positional encodings, a prediction from the initial queries, then per layer
 * `l`: scale `l mod 3` under the mask predicted just before (`σ < 0.5` blocks, fully-blocked
 * rows unblocked), and a prediction after it. Attention masks are predicted at their scale from
 * mask features resized there (bilinear, half-pixel, as TF.js/PyTorch `align_corners=False`):
 * the same masks as resizing full-resolution logits, since resizing is linear, and the
 * full-resolution auxiliary predictions are pruned unless exported. Conditions, when given,
 * travel through the layers that take them (a BSF layer refines them) and come out as
 * `conditions`.
 *
 * Positional encodings depend only on each scale's size: when the export fixes the feature
 * sizes (`{ name: 'features0', dims: ['batch', 8, 8, 256] }`) they are constants, otherwise
 * they are computed in the graph and one model serves every size. Outputs: the final
 * `predLogits`/`predMasks`, the normed `queries`, and on request `conditions` and the
 * deep-supervision predictions stacked as `auxPredLogits [L, …]` / `auxPredMasks [L, …]`.
 */
export const mask2FormerDecoderExporter: OnnxLayerExporter<Mask2FormerDecoder> = {
  signature: (layer) => {
    const { featureChannels, maskDim, hiddenDim, numLayers } = layer.config;
    const inputs: OnnxInputPort[] = [
      ...featureChannels.map((c, i) => ({
        name: `features${i}`,
        dtypes: ['float32'] as const,
        dims: ['batch', `height${i}`, `width${i}`, c],
        doc: `Feature scale ${i} (coarsest first) \`[batch, height${i}, width${i}, ${c}]\`.`,
      })),
      { name: 'maskFeatures', dtypes: ['float32'], dims: ['batch', 'maskHeight', 'maskWidth', maskDim], doc: 'Per-pixel mask features `[batch, maskHeight, maskWidth, maskDim]`.' },
      {
        name: 'queryOffset',
        dtypes: ['float32'],
        dims: ['batch', 1, hiddenDim],
        optional: true,
        doc: 'Added to the learned queries `[batch, 1 | queries, hidden]` (FlowSeg: `Q⁽⁰⁾ = Q + S`).',
      },
      {
        name: 'conditions',
        dtypes: ['float32'],
        dims: ['batch', 'conditions', hiddenDim],
        optional: true,
        doc: 'Condition embeddings `[batch, conditions, hidden]` for layers that read them (at least one slot).',
      },
      { name: 'conditionMask', dtypes: ['float32'], dims: ['batch', 'conditions'], optional: true, doc: 'Condition validity `[batch, conditions]`.' },
    ];
    const outputs: OnnxOutputPort[] = [
      { name: 'predLogits', dtype: 'float32', doc: 'Final class logits `[batch, queries, numClasses + 1]`.' },
      { name: 'predMasks', dtype: 'float32', doc: 'Final mask logits `[batch, queries, maskHeight, maskWidth]`.' },
      { name: 'queries', dtype: 'float32', doc: 'Final query states after `decoder_norm` `[batch, queries, hidden]`.' },
      { name: 'conditions', dtype: 'float32', optional: true, doc: 'Conditions after the last layer `[batch, conditions, hidden]`.' },
      { name: 'auxPredLogits', dtype: 'float32', optional: true, doc: `Class logits before the final prediction, stacked \`[${numLayers}, batch, queries, numClasses + 1]\`.` },
      { name: 'auxPredMasks', dtype: 'float32', optional: true, doc: `Mask logits before the final prediction, stacked \`[${numLayers}, batch, queries, maskHeight, maskWidth]\`.` },
    ];
    return { inputs, outputs };
  },
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const { numQueries: n, hiddenDim: d, maskDim, numLayers } = layer.config;
    const features = Array.from({ length: NUM_FEATURE_LEVELS }, (_, i) => inputs[`features${i}`]!);
    const maskFeatures = inputs['maskFeatures']!;
    const scales = features.map((f, i) => {
      const projected = ctx.hasWeight(layer, `input_proj.${i}.kernel`) ? ctx.linear(layer, `input_proj.${i}`, f) : f;
      const level = ctx.op('Gather', [ctx.weight(layer, 'level_embed.weight'), ctx.int64([i], [])], { axis: 0 }, `level_embed.${i}`);
      const memory = ctx.op('Add', [ctx.op('Reshape', [projected, ctx.int64([0, -1, d])], {}, `memory.${i}/flat`), level], {}, `memory.${i}`);
      return { feature: f, memory, memoryPos: sinePositionsFor(ctx, f, d, `memory_pos.${i}`) };
    });
    const learned = ctx.op('Unsqueeze', [ctx.weight(layer, 'query_feat.weight'), ctx.int64([0])], {}, 'query_feat');
    let queries = inputs['queryOffset']
      ? ctx.op('Add', [learned, inputs['queryOffset']], {}, 'queries_init')
      : ctx.op('Expand', [learned, concatShape(ctx, [shapeSlice(ctx, features[0]!, 0, 1), ctx.int64([n, d])], 'queries_shape')], {}, 'queries_init');
    const queryPos = ctx.op('Unsqueeze', [ctx.weight(layer, 'query_embed.weight'), ctx.int64([0])], {}, 'query_pos');
    // [B, H, W, Dm] → [B, Dm, H·W] once: every prediction is one batched MatMul.
    const pixelT = pixelColumns(ctx, maskFeatures, maskDim, 'pixels');
    const maskShape = concatShape(ctx, [ctx.int64([0, 0]), shapeSlice(ctx, maskFeatures, 1, 3)], 'mask_shape');
    const maskSize = staticSpatialSize(ctx, maskFeatures);
    // The mask features at each attended scale (`resize(M·F) = M·resize(F)`).
    const pixelAtScale = scales.map(({ feature }, i) => {
      const size = staticSpatialSize(ctx, feature);
      if (size !== null && maskSize !== null && size[0] === maskSize[0] && size[1] === maskSize[1]) return pixelT;
      const sizes = concatShape(ctx, [shapeSlice(ctx, maskFeatures, 0, 1), shapeSlice(ctx, feature, 1, 3), ctx.int64([maskDim])], `pixels.${i}/sizes`);
      const resized = ctx.op('Resize', [maskFeatures, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }, `pixels.${i}/resized`);
      return pixelColumns(ctx, resized, maskDim, `pixels.${i}`);
    });
    const depth = maskEmbedDepth(layer);
    const predict = (q: string, tag: string, level: number | null) => {
      const normed = layerNormAt(ctx, layer, 'decoder_norm', q);
      const logits = ctx.linear(layer, 'class_embed', normed, `class_embed.${tag}`);
      const embeddings = mlpAt(ctx, layer, 'mask_embed.', depth, normed);
      const masks = ctx.op('Reshape', [ctx.op('MatMul', [embeddings, pixelT], {}, `mask_logits.${tag}/flat`), maskShape], {}, `mask_logits.${tag}`);
      const attention =
        level === null ? null : maskedAttentionMask(ctx, ctx.op('MatMul', [embeddings, pixelAtScale[level]!], {}, `attention_logits.${tag}`), `attention_mask.${tag}`);
      return { normed, logits, masks, attention };
    };
    checkConditionPair(inputs, 'Mask2FormerDecoder');
    let conditions = inputs['conditions'];
    const conditionMask = inputs['conditionMask'];
    let head = predict(queries, 'init', 0);
    const aux: Array<{ logits: string; masks: string }> = [head];
    let attentionMask = head.attention!;
    for (let l = 0; l < numLayers; l++) {
      const scale = scales[l % NUM_FEATURE_LEVELS]!;
      const decoderLayer = layer.layers[l]!;
      const takesConditions = findOnnxExporter(decoderLayer)?.signature(decoderLayer).inputs.some((p) => p.name === 'conditions') ?? false;
      const out = ctx.emit(
        decoderLayer,
        given({
          queries,
          queryPos,
          memory: scale.memory,
          memoryPos: scale.memoryPos,
          attentionMask,
          conditions: takesConditions ? conditions : undefined,
          conditionMask: takesConditions && conditions ? conditionMask : undefined,
        }),
        `layers.${l}`,
      );
      queries = out['queries']!;
      if (out['conditions']) conditions = out['conditions'];
      const last = l === numLayers - 1;
      head = predict(queries, `${l}`, last ? null : (l + 1) % NUM_FEATURE_LEVELS);
      if (!last) {
        aux.push(head);
        attentionMask = head.attention!;
      }
    }
    const stack = (values: string[], hint: string) =>
      ctx.op('Concat', values.map((v, i) => ctx.op('Unsqueeze', [v, ctx.int64([0])], {}, `${hint}/${i}`)), { axis: 0 }, hint);
    const hasAux = numLayers > 0;
    return given({
      predLogits: head.logits,
      predMasks: head.masks,
      queries: head.normed,
      conditions: inputs['conditions'] ? conditions : undefined,
      auxPredLogits: hasAux ? stack(aux.map((a) => a.logits), 'aux_pred_logits') : undefined,
      auxPredMasks: hasAux ? stack(aux.map((a) => a.masks), 'aux_pred_masks') : undefined,
    });
  },
};
