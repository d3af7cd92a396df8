import { CrossAttentionBlock, FeedForwardBlock, SelfAttentionBlock } from '@flowseg/core';
import type { OnnxLayerExporter } from '../export/registry.js';

/** Drops absent entries so only given ports reach a child exporter. */
function given(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
}

/** core `CrossAttentionBlock` (Mask2Former post-norm): `norm(q + MHA(q + qPos, m + mPos, m, mask))`. */
export const crossAttentionBlockExporter: OnnxLayerExporter<CrossAttentionBlock> = {
  signature: (layer) => {
    const q = ['batch', 'queries', layer.dim];
    const m = ['batch', 'keys', layer.dim];
    return {
      inputs: [
        { name: 'queries', dtypes: ['float32'], dims: q, doc: 'Query states `[batch, queries, channels]`.' },
        { name: 'memory', dtypes: ['float32'], dims: m, doc: 'Memory `[batch, keys, channels]` (keys and values).' },
        { name: 'queryPos', dtypes: ['float32'], dims: q, optional: true, doc: 'Added to the queries (q only).' },
        { name: 'memoryPos', dtypes: ['float32'], dims: m, optional: true, doc: 'Added to the memory (k only).' },
        {
          name: 'attentionMask',
          dtypes: ['bool', 'float32'],
          dims: ['batch', 'queries', 'keys'],
          optional: true,
          doc: 'Mask `[batch, queries, keys]`: bool `true` = blocked (masked attention), or float32 added to the scores.',
        },
        { name: 'keyPaddingMask', dtypes: ['bool'], dims: ['batch', 'keys'], optional: true, doc: 'Bool `[batch, keys]`, `true` = padding.' },
      ],
      outputs: [{ name: 'output', dtype: 'float32', doc: 'Updated queries `[batch, queries, channels]`.' }],
    };
  },
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const mask = inputs['attentionMask'];
    const { output } = ctx.emit(
      layer.attention,
      given({
        query: inputs['queries'],
        key: inputs['memory'],
        value: inputs['memory'],
        queryPos: inputs['queryPos'],
        keyPos: inputs['memoryPos'],
        attentionMask: mask ? ctx.op('Unsqueeze', [mask, ctx.int64([1])], {}, 'attention_mask_4d') : undefined,
        keyPaddingMask: inputs['keyPaddingMask'],
      }),
      'multihead_attn',
    );
    const residual = ctx.op('Add', [inputs['queries']!, output!], {}, 'residual');
    return { output: ctx.emit(layer.norm, { x: residual }, 'norm')['output']! };
  },
};

/** core `SelfAttentionBlock` (post-norm): `norm(q + MHA(q + pos, q + pos, q))`. */
export const selfAttentionBlockExporter: OnnxLayerExporter<SelfAttentionBlock> = {
  signature: (layer) => {
    const q = ['batch', 'queries', layer.dim];
    return {
      inputs: [
        { name: 'queries', dtypes: ['float32'], dims: q, doc: 'Query states `[batch, queries, channels]`.' },
        { name: 'queryPos', dtypes: ['float32'], dims: q, optional: true, doc: 'Added to q and k, not v.' },
        { name: 'keyPaddingMask', dtypes: ['bool'], dims: ['batch', 'queries'], optional: true, doc: 'Bool `[batch, queries]`, `true` = padding.' },
      ],
      outputs: [{ name: 'output', dtype: 'float32', doc: 'Updated queries `[batch, queries, channels]`.' }],
    };
  },
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const q = inputs['queries']!;
    const pos = inputs['queryPos'];
    const { output } = ctx.emit(
      layer.attention,
      given({ query: q, key: q, value: q, queryPos: pos, keyPos: pos, keyPaddingMask: inputs['keyPaddingMask'] }),
      'self_attn',
    );
    const residual = ctx.op('Add', [q, output!], {}, 'residual');
    return { output: ctx.emit(layer.norm, { x: residual }, 'norm')['output']! };
  },
};

/** core `FeedForwardBlock` (post-norm): `norm(x + ffn(x))`. */
export const feedForwardBlockExporter: OnnxLayerExporter<FeedForwardBlock> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'queries', layer.dim], anyLeadingAxes: true, doc: 'Features `[batch, queries, channels]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Features `[batch, queries, channels]`.' }],
  }),
  emit: (layer, { x }, ctx) => {
    layer.ensureBuilt();
    const y = ctx.emit(layer.ffn, { x: x! }, 'ffn')['output']!;
    const residual = ctx.op('Add', [x!, y], {}, 'residual');
    return { output: ctx.emit(layer.norm, { x: residual }, 'norm')['output']! };
  },
};
