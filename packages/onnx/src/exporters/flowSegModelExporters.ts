import type { FlowSegLayer } from '@flowseg/core';
import {
  ConditionQuerySelector,
  ConvSegmentationEncoder,
  Embedding,
  PatchVisionEncoder,
  PreNormTransformerBlock,
  ResidualConvBlock,
  TinyCausalLM,
} from '@flowseg/flowseg-model';
import type { OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import { emitMultiHeadAttention } from './attentionExporter.js';
import { concatShape, conv2dAt, given, layerNormAt, reluFeedForwardAt, shapeSlice, spaceToDepthNhwc, toFloat, weightKey } from './graphOps.js';

/** `x + proj(relu(conv3×3(LN(x))))` with `owner`'s weights under `prefix` (flowseg-model `ResidualConvBlock`). */
function residualConvBlockAt(ctx: OnnxExportContext, owner: FlowSegLayer, prefix: string, x: string): string {
  const normed = layerNormAt(ctx, owner, weightKey(prefix, 'norm'), x);
  const conv = conv2dAt(ctx, owner, weightKey(prefix, 'conv'), normed);
  const hidden = ctx.op('Relu', [conv], {}, `${prefix || 'block'}/relu`);
  return ctx.op('Add', [x, ctx.linear(owner, weightKey(prefix, 'proj'), hidden)], {}, prefix || 'residual');
}

/** Masks of a {@link preNormBlockAt} attention. */
interface BlockMasks {
  /** Bool `[batch | 1, 1, tokens, tokens]`, true = blocked. */
  readonly attentionMask?: string;
  /** Bool `[batch, tokens]`, true = padding. */
  readonly keyPaddingMask?: string;
}

/**
 * flowseg-model `PreNormTransformerBlock` with `owner`'s weights under `prefix`:
 * `x + SelfAttn(LN₁(x))`, then `+ FFN(LN₂(·))` (ReLU).
 */
function preNormBlockAt(ctx: OnnxExportContext, owner: FlowSegLayer, prefix: string, x: string, dim: number, numHeads: number, masks: BlockMasks = {}): string {
  return ctx.withScope(prefix || 'block', () => {
    const h = layerNormAt(ctx, owner, weightKey(prefix, 'input_layernorm'), x);
    const attended = ctx.withScope('self_attn', () =>
      emitMultiHeadAttention(
        ctx,
        { owner, prefix: `${weightKey(prefix, 'self_attn')}.`, numHeads, embedDim: dim },
        given({ query: h, key: h, value: h, attentionMask: masks.attentionMask, keyPaddingMask: masks.keyPaddingMask }),
      ),
    )['output']!;
    const mid = ctx.op('Add', [x, attended], {}, 'attn_residual');
    const normed = layerNormAt(ctx, owner, weightKey(prefix, 'post_attention_layernorm'), mid);
    return ctx.op('Add', [mid, reluFeedForwardAt(ctx, owner, weightKey(prefix, 'mlp'), normed)], {}, 'ffn_residual');
  });
}

/** flowseg-model `ResidualConvBlock`: `x + proj(relu(conv3×3(LN(x))))`. */
export const residualConvBlockExporter: OnnxLayerExporter<ResidualConvBlock> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'height', 'width', layer.channels], doc: 'Maps `[batch, height, width, channels]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Maps, same shape.' }],
  }),
  emit: (layer, { x }, ctx) => {
    layer.ensureBuilt();
    return { output: residualConvBlockAt(ctx, layer, '', x!) };
  },
};

/**
 * `ConvSegmentationEncoder`: per stage a 2×2 stride-2 patch embedding (space-to-depth +
 * MatMul) and residual conv blocks; outputs the configured feature strides (coarse → fine)
 * and the pixel map. Batch and spatial axes are dynamic.
 */
export const convSegmentationEncoderExporter: OnnxLayerExporter<ConvSegmentationEncoder> = {
  signature: (layer) => ({
    inputs: [{ name: 'image', dtypes: ['float32'], dims: ['batch', 'height', 'width', 3], doc: 'RGB images `[batch, height, width, 3]` in 0..1.' }],
    outputs: [
      ...layer.featureStrides.map((s, i) => ({
        name: `features${i}`,
        dtype: 'float32' as const,
        doc: `Stride-${s} map \`[batch, height/${s}, width/${s}, ${layer.featureChannels[i]}]\`.`,
      })),
      { name: 'pixel', dtype: 'float32', doc: `Stride-${layer.pixelStride} map \`[batch, height/${layer.pixelStride}, width/${layer.pixelStride}, ${layer.pixelChannels}]\`.` },
    ],
  }),
  emit: (layer, { image }, ctx) => {
    layer.ensureBuilt();
    const byStride = new Map<number, string>();
    let x = image!;
    let inChannels = 3;
    layer.stageChannels.forEach((c, k) => {
      const patches = spaceToDepthNhwc(ctx, x, 2, inChannels, `stages.${k}/patches`);
      x = ctx.linear(layer, `stages.${k}.downsample`, patches);
      for (let j = 0; j < layer.blocksPerStage[k]!; j++) x = residualConvBlockAt(ctx, layer, `stages.${k}.blocks.${j}`, x);
      byStride.set(2 ** (k + 1), x);
      inChannels = c;
    });
    const [s0, s1, s2] = layer.featureStrides;
    return { features0: byStride.get(s0)!, features1: byStride.get(s1)!, features2: byStride.get(s2)!, pixel: byStride.get(layer.pixelStride)! };
  },
};

/** flowseg-model `PreNormTransformerBlock` (no masks; the language model's blocks are exported inside it). */
export const preNormTransformerBlockExporter: OnnxLayerExporter<PreNormTransformerBlock> = {
  signature: (layer) => ({
    inputs: [
      { name: 'x', dtypes: ['float32'], dims: ['batch', 'tokens', layer.dim], doc: 'Token states `[batch, tokens, channels]`.' },
      { name: 'attentionMask', dtypes: ['bool'], dims: [1, 1, 'tokens', 'tokens'], optional: true, doc: 'Bool `[batch | 1, 1, tokens, tokens]`, true = blocked.' },
      { name: 'keyPaddingMask', dtypes: ['bool'], dims: ['batch', 'tokens'], optional: true, doc: 'Bool `[batch, tokens]`, true = padding.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Token states `[batch, tokens, channels]`.' }],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const masks = given({ attentionMask: inputs['attentionMask'], keyPaddingMask: inputs['keyPaddingMask'] });
    return { output: preNormBlockAt(ctx, layer, '', inputs['x']!, layer.dim, layer.numHeads, masks) };
  },
};

/** flowseg-model `Embedding`: row lookup (`Gather`) of int32 ids of any shape. */
export const embeddingExporter: OnnxLayerExporter<Embedding> = {
  signature: () => ({
    inputs: [{ name: 'ids', dtypes: ['int32', 'int64'], dims: ['batch', 'tokens'], anyLeadingAxes: true, doc: 'Indices `[...]` in `[0, numEmbeddings)`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Rows `[..., dim]`.' }],
  }),
  emit: (layer, { ids }, ctx) => {
    layer.ensureBuilt();
    return { output: ctx.op('Gather', [ctx.weight(layer, 'weight'), ids!], { axis: 0 }, 'lookup') };
  },
};

/**
 * `PatchVisionEncoder`: patchify (space-to-depth + MatMul) + learned positions → pre-norm
 * blocks → LayerNorm → `mergeSize²` patch merge → `Linear → ReLU → Linear`. The image size is
 * the encoder's (its positions are learned for it); batch is dynamic.
 */
export const patchVisionEncoderExporter: OnnxLayerExporter<PatchVisionEncoder> = {
  signature: (layer) => ({
    inputs: [{ name: 'image', dtypes: ['float32'], dims: ['batch', layer.imageHeight, layer.imageWidth, 3], doc: 'RGB images `[batch, imageHeight, imageWidth, 3]` in 0..1.' }],
    outputs: [{ name: 'tokens', dtype: 'float32', doc: `Image tokens \`[batch, ${layer.numImageTokens}, ${layer.tokenDim}]\`.` }],
  }),
  emit: (layer, { image }, ctx) => {
    layer.ensureBuilt();
    const p = layer.patchSize;
    const gh = layer.imageHeight / p;
    const gw = layer.imageWidth / p;
    const patches = spaceToDepthNhwc(ctx, image!, p, 3, 'patches');
    let x = ctx.op('Reshape', [ctx.linear(layer, 'patch_embed', patches), ctx.int64([0, gh * gw, layer.width])], {}, 'patch_tokens');
    x = ctx.op('Add', [x, ctx.weight(layer, 'pos_embed.weight')], {}, 'with_positions');
    for (let i = 0; i < layer.depth; i++) x = preNormBlockAt(ctx, layer, `layers.${i}`, x, layer.width, layer.numHeads);
    const normed = ctx.op('Reshape', [layerNormAt(ctx, layer, 'norm', x), ctx.int64([0, gh, gw, layer.width])], {}, 'normed_grid');
    const merged = spaceToDepthNhwc(ctx, normed, layer.mergeSize, layer.width, 'merged');
    const hidden = ctx.op('Relu', [ctx.linear(layer, 'projector.linear1', merged)], {}, 'projector/relu');
    const tokens = ctx.linear(layer, 'projector.linear2', hidden);
    return { tokens: ctx.op('Reshape', [tokens, ctx.int64([0, layer.numImageTokens, layer.tokenDim])], {}, 'tokens') };
  },
};

/**
 * `TinyCausalLM` forward: `[imageTokens ; E[ids]] + P[positions]` → causal pre-norm blocks →
 * final norm → text positions; logits `h·Eᵀ` (tied) or `lm_head(h)`, plus the `CopyHead` bonus
 * when the model has one. With an `attentionMask`
 * a text token's position is `imageTokens + (real text tokens before it) − 1` clamped at 0 and
 * padding is never attended, exactly as in TF.js; every axis (batch, image tokens, tokens)
 * is dynamic.
 */
export const tinyCausalLMExporter: OnnxLayerExporter<TinyCausalLM> = {
  signature: (layer) => ({
    inputs: [
      { name: 'tokenIds', dtypes: ['int32'], dims: ['batch', 'tokens'], doc: 'Token ids `[batch, tokens]`, int32.' },
      { name: 'imageTokens', dtypes: ['float32'], dims: ['batch', 'imageTokens', layer.hiddenSize], optional: true, doc: 'Image prefix `[batch, imageTokens, hidden]`.' },
      { name: 'attentionMask', dtypes: ['int32'], dims: ['batch', 'tokens'], optional: true, doc: '`[batch, tokens]` int32, 1 = real token, 0 = padding.' },
    ],
    outputs: [
      { name: 'hiddenStates', dtype: 'float32', doc: 'Final-norm hidden states at the text positions `[batch, tokens, hidden]`.' },
      { name: 'logits', dtype: 'float32', doc: 'Next-token logits `[batch, tokens, vocab]`.' },
    ],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const ids = inputs['tokenIds']!;
    const imageTokens = inputs['imageTokens'];
    const mask = inputs['attentionMask'];
    const text = ctx.op('Gather', [ctx.weight(layer, 'embed_tokens.weight'), ids], { axis: 0 }, 'token_embeddings');
    let x = imageTokens ? ctx.op('Concat', [imageTokens, text], { axis: 1 }, 'sequence') : text;
    const zero32 = ctx.builder.addConstant('const_i32', Int32Array.of(0), []);
    const one32 = ctx.builder.addConstant('const_i32', Int32Array.of(1), []);
    const images32 = imageTokens
      ? ctx.op('Cast', [ctx.op('Gather', [ctx.op('Shape', [imageTokens], {}, 'image_shape'), ctx.int64([1], [])], { axis: 0 }, 'num_images')], { to: 6 }, 'num_images_i32')
      : zero32;
    let positions: string;
    let keyPaddingMask: string | undefined;
    if (mask) {
      // Position of a real text token = images + (real tokens before it); padding → clamped at 0.
      const counted = ctx.op('CumSum', [mask, ctx.int64([1], [])], {}, 'real_count');
      const textPositions = ctx.op('Max', [ctx.op('Add', [counted, ctx.op('Sub', [images32, one32], {}, 'offset')], {}, 'text_pos_raw'), zero32], {}, 'text_positions');
      const textPadding = ctx.op('Not', [ctx.op('Cast', [mask], { to: 9 }, 'real')], {}, 'text_padding');
      if (imageTokens) {
        const imagePositions = ctx.op(
          'Expand',
          [
            ctx.op('Unsqueeze', [ctx.op('Range', [zero32, images32, one32], {}, 'image_range'), ctx.int64([0])], {}, 'image_row'),
            concatShape(ctx, [shapeSlice(ctx, ids, 0, 1), shapeSlice(ctx, imageTokens, 1, 2)], 'image_grid'),
          ],
          {},
          'image_positions',
        );
        positions = ctx.op('Concat', [imagePositions, textPositions], { axis: 1 }, 'positions');
        const imagePadding = ctx.op('Less', [imagePositions, zero32], {}, 'image_padding'); // all false
        keyPaddingMask = ctx.op('Concat', [imagePadding, textPadding], { axis: 1 }, 'key_padding');
      } else {
        positions = textPositions;
        keyPaddingMask = textPadding;
      }
    } else {
      const length = ctx.op('Gather', [ctx.op('Shape', [x], {}, 'sequence_shape'), ctx.int64([1], [])], { axis: 0 }, 'length');
      positions = ctx.op('Range', [ctx.int64([0], []), length, ctx.int64([1], [])], {}, 'positions');
    }
    x = ctx.op('Add', [x, ctx.op('Gather', [ctx.weight(layer, 'embed_positions.weight'), positions], { axis: 0 }, 'position_embeddings')], {}, 'embedded');
    // Causal mask [1, 1, L, L]: blocked[i, j] = j > i.
    const length = ctx.op('Gather', [ctx.op('Shape', [x], {}, 'embedded_shape'), ctx.int64([1], [])], { axis: 0 }, 'sequence_length');
    const steps = ctx.op('Range', [ctx.int64([0], []), length, ctx.int64([1], [])], {}, 'steps');
    const causal = ctx.op(
      'Unsqueeze',
      [ctx.op('Greater', [ctx.op('Unsqueeze', [steps, ctx.int64([0])], {}, 'steps_row'), ctx.op('Unsqueeze', [steps, ctx.int64([1])], {}, 'steps_col')], {}, 'future'), ctx.int64([0, 1])],
      {},
      'causal_mask',
    );
    for (let i = 0; i < layer.numLayers; i++) {
      x = preNormBlockAt(ctx, layer, `layers.${i}`, x, layer.hiddenSize, layer.numHeads, given({ attentionMask: causal, keyPaddingMask }));
    }
    x = layerNormAt(ctx, layer, 'norm', x);
    const hiddenStates = imageTokens
      ? ctx.op('Slice', [x, shapeSlice(ctx, imageTokens, 1, 2, 'text_start'), ctx.int64([Number.MAX_SAFE_INTEGER]), ctx.int64([1])], {}, 'text_states')
      : x;
    const hint = layer.copyHeadDim === null ? 'logits' : 'lm_logits';
    const baseLogits = layer.tieEmbeddings
      ? ctx.op('MatMul', [hiddenStates, ctx.op('Transpose', [ctx.weight(layer, 'embed_tokens.weight')], { perm: [1, 0] }, 'embed_tokens_t')], {}, hint)
      : ctx.linear(layer, 'lm_head', hiddenStates, hint);
    const logits =
      layer.copyHeadDim === null
        ? baseLogits
        : ctx.op('Add', [baseLogits, ctx.withScope('copy_head', () => copyBonus(ctx, layer, hiddenStates, ids, mask, layer.copyHeadDim!))], {}, 'logits');
    return { hiddenStates, logits };
  },
};

/**
 * `CopyHead`'s logit bonus `s_t · Σ_{j<t} a[t, j]·onehot(x_{j+1})` with
 * `a = softmax over real j < t of (h·W_q + b_q)(h·W_k)ᵀ/√copy` (rows without one get 0), as in TF.js.
 */
function copyBonus(ctx: OnnxExportContext, layer: TinyCausalLM, h: string, ids: string, mask: string | undefined, copyDim: number): string {
  const q = ctx.linear(layer, 'copy_head.query', h, 'query');
  const k = ctx.op('MatMul', [h, ctx.weight(layer, 'copy_head.key.kernel')], {}, 'key');
  const scores = ctx.op('Mul', [ctx.op('MatMul', [q, ctx.op('Transpose', [k], { perm: [0, 2, 1] }, 'key_t')], {}, 'dots'), ctx.scalar(1 / Math.sqrt(copyDim))], {}, 'scores');
  // earlier[t, j] = j < t; with a mask also j real.
  const tokens = ctx.op('Gather', [ctx.op('Shape', [ids], {}, 'ids_shape'), ctx.int64([1], [])], { axis: 0 }, 'tokens');
  const steps = ctx.op('Range', [ctx.int64([0], []), tokens, ctx.int64([1], [])], {}, 'steps');
  const earlier = toFloat(
    ctx,
    ctx.op('Less', [ctx.op('Unsqueeze', [steps, ctx.int64([0])], {}, 'j'), ctx.op('Unsqueeze', [steps, ctx.int64([1])], {}, 't')], {}, 'earlier_bool'),
    'earlier',
  );
  const valid = mask
    ? ctx.op('Mul', [ctx.op('Unsqueeze', [earlier, ctx.int64([0])], {}, 'earlier_row'), ctx.op('Unsqueeze', [toFloat(ctx, mask, 'real'), ctx.int64([1])], {}, 'real_col')], {}, 'valid')
    : ctx.op('Unsqueeze', [earlier, ctx.int64([0])], {}, 'valid');
  const masked = ctx.op('Add', [scores, ctx.op('Mul', [ctx.op('Sub', [valid, ctx.scalar(1)], {}, 'blocked'), ctx.scalar(1e9)], {}, 'penalty')], {}, 'masked');
  const weights = ctx.op('Mul', [ctx.op('Softmax', [masked], { axis: -1 }, 'softmax'), valid], {}, 'weights');
  // The token that followed each position (the last gets 0; no row can attend to it).
  const idsT = ctx.dtypeOf(ids) === 'int64' ? ids : ctx.op('Cast', [ids], { to: 7 }, 'ids_i64');
  const following = ctx.op('Slice', [idsT, ctx.int64([1]), ctx.int64([Number.MAX_SAFE_INTEGER]), ctx.int64([1])], {}, 'following');
  const last = ctx.op('Mul', [ctx.op('Slice', [idsT, ctx.int64([0]), ctx.int64([1]), ctx.int64([1])], {}, 'first'), ctx.int64([0], [])], {}, 'zero_col');
  const nextIds = ctx.op('Concat', [following, last], { axis: 1 }, 'next_ids');
  const vocab = ctx.op('Range', [ctx.int64([0], []), ctx.int64([layer.vocabSize], []), ctx.int64([1], [])], {}, 'vocab');
  const proposals = toFloat(ctx, ctx.op('Equal', [ctx.op('Unsqueeze', [nextIds, ctx.int64([2])], {}, 'next_col'), vocab], {}, 'proposal_bool'), 'proposals');
  const votes = ctx.op('MatMul', [weights, proposals], {}, 'votes');
  const strength = ctx.op('Add', [ctx.op('MatMul', [h, ctx.weight(layer, 'copy_head.strength_kernel')], {}, 'strength_dot'), ctx.weight(layer, 'copy_head.strength_bias')], {}, 'strength');
  return ctx.op('Mul', [votes, strength], {}, 'bonus');
}

/**
 * `ConditionQuerySelector`: `scores = cos(W_q Q_out, W_c c) / τ` with each side divided by
 * `‖·‖ + 1e-6`, as in TF.js.
 */
export const conditionQuerySelectorExporter: OnnxLayerExporter<ConditionQuerySelector> = {
  signature: (layer) => ({
    inputs: [
      { name: 'queries', dtypes: ['float32'], dims: ['targets', 'queries', layer.hiddenDim], doc: 'Output queries `Q_out` `[targets, queries, channels]`.' },
      { name: 'condition', dtypes: ['float32'], dims: ['targets', layer.hiddenDim], doc: 'One condition vector per target `[targets, channels]`.' },
    ],
    outputs: [{ name: 'scores', dtype: 'float32', doc: 'Candidate scores `cos / τ` `[targets, queries]`.' }],
  }),
  emit: (layer, { queries, condition }, ctx) => {
    layer.ensureBuilt();
    const unit = (x: string, hint: string) => {
      const norm = ctx.op('Sqrt', [ctx.op('ReduceSumSquare', [x], { axes: [-1], keepdims: 1 }, `${hint}/sum_sq`)], {}, `${hint}/norm`);
      return ctx.op('Div', [x, ctx.op('Add', [norm, ctx.scalar(1e-6)], {}, `${hint}/norm_eps`)], {}, hint);
    };
    const q = unit(ctx.linear(layer, 'query_proj', queries!), 'query_unit');
    const c = unit(ctx.linear(layer, 'condition_proj', condition!), 'condition_unit');
    const cos = ctx.op('Squeeze', [ctx.op('MatMul', [q, ctx.op('Unsqueeze', [c, ctx.int64([2])], {}, 'condition_col')], {}, 'cos_col'), ctx.int64([2])], {}, 'cos');
    return { scores: ctx.op('Div', [cos, ctx.scalar(layer.temperature)], {}, 'scores') };
  },
};
