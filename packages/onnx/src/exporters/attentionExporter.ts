import { MultiHeadAttention, ValueError, type FlowSegLayer } from '@flowseg/core';
import type { OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';

/** Added to blocked scores, as in core's MultiHeadAttention (finite: softmax never sees `-inf - -inf`). */
const BLOCKED = -1e9;

/**
 * core `MultiHeadAttention`, reproducing its forward exactly:
 * `softmax((q+qPos)Wq/√d_h · ((k+kPos)Wk)ᵀ + mask)·(vWv)`, heads merged, then `Wo`.
 *
 * Heads are split with `Reshape [0, 0, heads, headDim]` (0 copies the input's axis), so
 * batch and sequence lengths stay dynamic. Masks: a float32 `attentionMask` is added to the
 * scores; a bool one (`true` = blocked) and the bool `keyPaddingMask` add −1e9 to blocked
 * scores, and rows with no visible key get all-zero weights (output = the output bias), as
 * in TF.js.
 */
export const multiHeadAttentionExporter: OnnxLayerExporter<MultiHeadAttention> = {
  signature: (layer) => {
    const q = ['batch', 'queries', layer.embedDim];
    const k = ['batch', 'keys', layer.keyDim];
    return {
      inputs: [
        { name: 'query', dtypes: ['float32'], dims: q, doc: 'Queries `[batch, queries, channels]`.' },
        { name: 'key', dtypes: ['float32'], dims: k, doc: 'Keys `[batch, keys, keyChannels]`.' },
        { name: 'value', dtypes: ['float32'], dims: ['batch', 'keys', layer.valueDim], doc: 'Values `[batch, keys, valueChannels]`.' },
        { name: 'queryPos', dtypes: ['float32'], dims: q, optional: true, doc: 'Added to `query` before the q projection.' },
        { name: 'keyPos', dtypes: ['float32'], dims: k, optional: true, doc: 'Added to `key` before the k projection.' },
        {
          name: 'attentionMask',
          dtypes: ['bool', 'float32'],
          dims: ['maskBatch', 'maskHeads', 'queries', 'keys'],
          optional: true,
          doc: 'Mask `[batch | 1, heads | 1, queries, keys]`: bool (`true` = blocked) or float32 (added to the scores).',
        },
        { name: 'keyPaddingMask', dtypes: ['bool'], dims: ['batch', 'keys'], optional: true, doc: 'Bool `[batch, keys]`, `true` = padding.' },
      ],
      outputs: [
        { name: 'output', dtype: 'float32', doc: 'Attended values `[batch, queries, channels]`.' },
        { name: 'weights', dtype: 'float32', optional: true, doc: 'Attention weights `[batch, heads, queries, keys]`.' },
      ],
    };
  },
  emit: (layer, inputs, ctx) =>
    emitMultiHeadAttention(ctx, { owner: layer, prefix: '', numHeads: layer.numHeads, embedDim: layer.embedDim }, inputs),
};

/**
 * Where an attention's weights live: `owner`'s weights `<prefix>q_proj.kernel`, … (prefix
 * `''` for a `MultiHeadAttention` itself, `'layers.0.self_attn.'` for one inside a composite
 * layer whose children are not reachable).
 * @internal
 */
export interface AttentionWeights {
  /** The layer whose `namedWeights()` hold the projections. */
  readonly owner: FlowSegLayer;
  /** Dotted prefix of the projections, ending in `.` unless empty. */
  readonly prefix: string;
  /** Heads. */
  readonly numHeads: number;
  /** Width of queries and output. */
  readonly embedDim: number;
}

/**
 * core `MultiHeadAttention`'s forward from its weights (see {@link multiHeadAttentionExporter}).
 * @internal
 */
export function emitMultiHeadAttention(
  ctx: OnnxExportContext,
  source: AttentionWeights,
  inputs: Readonly<Record<string, string>>,
): Record<string, string> {
  const { query, key, value, queryPos, keyPos, attentionMask, keyPaddingMask } = inputs;
  const layer = source.owner;
  const p = source.prefix;
  const h = source.numHeads;
  const dh = source.embedDim / h;
  const qIn = queryPos ? ctx.op('Add', [query!, queryPos], {}, 'query_with_pos') : query!;
  const kIn = keyPos ? ctx.op('Add', [key!, keyPos], {}, 'key_with_pos') : key!;
  const splitHeads = ctx.int64([0, 0, h, dh]);
  // [B, N, D] → [B, h, N, dh]; k goes straight to [B, h, dh, Nk] so Q·Kᵀ is a plain MatMul.
  const toHeads = (x: string, perm: number[], hint: string) =>
    ctx.op('Transpose', [ctx.op('Reshape', [x, splitHeads], {}, `${hint}/split`)], { perm }, hint);
  const qScaled = ctx.op('Mul', [ctx.linear(layer, `${p}q_proj`, qIn, 'q_proj'), ctx.scalar(1 / Math.sqrt(dh))], {}, 'q_scaled');
  const q = toHeads(qScaled, [0, 2, 1, 3], 'q_heads');
  const kT = toHeads(ctx.linear(layer, `${p}k_proj`, kIn, 'k_proj'), [0, 2, 3, 1], 'k_heads_t');
  const v = toHeads(ctx.linear(layer, `${p}v_proj`, value!, 'v_proj'), [0, 2, 1, 3], 'v_heads');
  let scores = ctx.op('MatMul', [q, kT], {}, 'scores');

  let visible: string | null = null; // bool [B|1, h|1, Nq|1, Nk], true = may attend
  if (attentionMask) {
    const dtype = ctx.dtypeOf(attentionMask);
    if (dtype === 'bool') visible = ctx.op('Not', [attentionMask], {}, 'mask_visible');
    else if (dtype === 'float32') scores = ctx.op('Add', [scores, attentionMask], {}, 'scores_masked');
    else throw new ValueError(`attentionMask: expected a bool or float32 value, its type is ${String(dtype)}`, 'attentionMask');
  }
  if (keyPaddingMask) {
    const keep = ctx.op('Unsqueeze', [ctx.op('Not', [keyPaddingMask], {}, 'keys_kept'), ctx.int64([1, 2])], {}, 'keys_kept_4d');
    visible = visible ? ctx.op('And', [visible, keep], {}, 'visible') : keep;
  }
  let weights: string;
  if (visible) {
    const penalty = ctx.op('Where', [visible, ctx.scalar(0), ctx.scalar(BLOCKED)], {}, 'mask_penalty');
    const soft = ctx.op('Softmax', [ctx.op('Add', [scores, penalty], {}, 'scores_visible')], { axis: -1 }, 'softmax');
    // max over keys of the 0/1 visibility is 1 iff the row sees a key; rows that see none get zero weights.
    const visF = ctx.op('Cast', [visible], { to: 1 }, 'visible_f32');
    const rowHasKey = ctx.op('ReduceMax', [visF], { axes: [-1], keepdims: 1 }, 'row_has_key');
    weights = ctx.op('Mul', [soft, rowHasKey], {}, 'weights');
  } else {
    weights = ctx.op('Softmax', [scores], { axis: -1 }, 'weights');
  }
  const context = ctx.op('MatMul', [weights, v], {}, 'context'); // [B, h, Nq, dh]
  const merged = ctx.op(
    'Reshape',
    [ctx.op('Transpose', [context], { perm: [0, 2, 1, 3] }, 'context_t'), ctx.int64([0, 0, source.embedDim])],
    {},
    'merged',
  );
  return { output: ctx.linear(layer, `${p}out_proj`, merged, 'output'), weights };
}
