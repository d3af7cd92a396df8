import type { FlowSegLayer } from '@flowseg/core';
import { LlmConditionAdapter, LlmProjection } from '@flowseg/llm-condition-adapter';
import type { OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import { weightKey } from './graphOps.js';

/** `φ_llm` with `owner`'s weights `<prefix>.linear1.*`, `<prefix>.linear2.*`: `linear2(relu(linear1(x)))`. */
function projectionAt(ctx: OnnxExportContext, owner: FlowSegLayer, prefix: string, x: string): string {
  const hidden = ctx.op('Relu', [ctx.linear(owner, weightKey(prefix, 'linear1'), x)], {}, `${prefix || 'projection'}/relu`);
  return ctx.linear(owner, weightKey(prefix, 'linear2'), hidden);
}

/** llm-condition-adapter `LlmProjection` (`φ_llm`, inference: no dropout). */
export const llmProjectionExporter: OnnxLayerExporter<LlmProjection> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'rows', layer.inFeatures], anyLeadingAxes: true, doc: 'Hidden states `[..., inFeatures]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Projected `[..., outFeatures]`.' }],
  }),
  emit: (layer, { x }, ctx) => {
    layer.ensureBuilt();
    return { output: projectionAt(ctx, layer, '', x!) };
  },
};

/**
 * The tensor half of `LlmConditionAdapter` (the parse and the pooling plan stay in
 * JavaScript: `parseSpecialTokens` + `buildPoolingPlan` give `spanWeights`, `segSelection`
 * and the masks): `C = φ(spanWeights·H)·mask`, `S = φ(segSelection·H)·segMask`. With
 * `'attention'` pooling, `spanWeights` is the 0/1 membership and the softmax of `H·w` over
 * each phrase's tokens is taken in the graph. Padded rows are exactly 0, as in TF.js.
 */
export const llmConditionAdapterExporter: OnnxLayerExporter<LlmConditionAdapter> = {
  signature: (layer) => ({
    inputs: [
      { name: 'hiddenStates', dtypes: ['float32'], dims: ['batch', 'tokens', layer.llmDim], doc: 'Language-model hidden states `[batch, tokens, llmDim]`.' },
      { name: 'spanWeights', dtypes: ['float32'], dims: ['batch', 'conditions', 'tokens'], doc: 'Pooling weights of the phrases `[batch, conditions, tokens]` (`PoolingPlan.spanWeights`).' },
      { name: 'segSelection', dtypes: ['float32'], dims: ['batch', 'targets', 'tokens'], doc: 'One-hot `<SEG>` positions `[batch, targets, tokens]` (`PoolingPlan.segSelection`).' },
      { name: 'conditionMask', dtypes: ['float32'], dims: ['batch', 'conditions'], doc: 'Phrase validity `[batch, conditions]`.' },
      { name: 'segMask', dtypes: ['float32'], dims: ['batch', 'targets'], doc: '`<SEG>` validity `[batch, targets]`.' },
    ],
    outputs: [
      { name: 'conditions', dtype: 'float32', doc: 'Condition embeddings `C` `[batch, conditions, channels]`.' },
      { name: 'segEmbeddings', dtype: 'float32', doc: 'Segmentation embeddings `S` `[batch, targets, channels]`.' },
    ],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const hidden = inputs['hiddenStates']!;
    let weights = inputs['spanWeights']!;
    if (layer.pooling === 'attention') {
      // softmax over the phrase's tokens of h_t·w: non-members get −1e9, padded rows are zeroed by the membership.
      const score = ctx.op('Reshape', [ctx.weight(layer, 'pool_score'), ctx.int64([layer.llmDim, 1])], {}, 'pool_score_col');
      const scores = ctx.op('Transpose', [ctx.op('MatMul', [hidden, score], {}, 'token_scores')], { perm: [0, 2, 1] }, 'token_scores_row');
      const offset = ctx.op('Mul', [ctx.op('Sub', [weights, ctx.scalar(1)], {}, 'non_member'), ctx.scalar(1e9)], {}, 'non_member_penalty');
      const soft = ctx.op('Softmax', [ctx.op('Add', [scores, offset], {}, 'pool_logits')], { axis: -1 }, 'pool_softmax');
      weights = ctx.op('Mul', [soft, weights], {}, 'pool_weights');
    }
    const conditionStates = ctx.op('MatMul', [weights, hidden], {}, 'condition_states');
    const segStates = ctx.op('MatMul', [inputs['segSelection']!, hidden], {}, 'seg_states');
    const conditionPrefix = layer.separateProjections ? 'condition_projection' : 'projection';
    const segPrefix = layer.separateProjections ? 'seg_projection' : 'projection';
    const masked = (x: string, mask: string, hint: string) =>
      ctx.op('Mul', [x, ctx.op('Unsqueeze', [mask, ctx.int64([2])], {}, `${hint}/mask_3d`)], {}, hint);
    return {
      conditions: masked(ctx.withScope('conditions', () => projectionAt(ctx, layer, conditionPrefix, conditionStates)), inputs['conditionMask']!, 'conditions'),
      segEmbeddings: masked(ctx.withScope('seg', () => projectionAt(ctx, layer, segPrefix, segStates)), inputs['segMask']!, 'seg_embeddings'),
    };
  },
};
