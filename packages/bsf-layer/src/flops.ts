import { ValueError, attentionLayoutFlops } from '@flowseg/core';

/** Sizes that determine the cost of one decoder layer. */
export interface DecoderLayerSizes {
  /** Batch size. */
  readonly batch: number;
  /** Queries `N`. */
  readonly queries: number;
  /** Memory positions `H·W` of the attended scale. */
  readonly pixels: number;
  /** Condition slots `T` (padding included: padded rows are computed, then ignored). */
  readonly conditions: number;
  /** Width `D`. */
  readonly hiddenDim: number;
  /** FFN hidden width. */
  readonly ffnDim: number;
}

/** Analytic FLOPs of one layer, per part (see {@link bsfLayerFlops}). */
export interface BSFLayerFlops {
  /** Masked visual cross-attention. */
  readonly crossAttention: number;
  /** SR: semantic cross-attention + gate (0 when off). */
  readonly semanticRefinement: number;
  /** Self-attention. */
  readonly selfAttention: number;
  /** Feed-forward block. */
  readonly ffn: number;
  /** CR (0 when off). */
  readonly conditionRefinement: number;
  /** Sum of the parts. */
  readonly total: number;
}

/** Multi-head attention with `nq` queries over `nk` keys, width `d`: 4 projections + 2 products (core's textbook count). */
function attentionFlops(nq: number, nk: number, d: number): number {
  return attentionLayoutFlops('perHead', nq, nk, 1, d);
}

/**
 * Analytic FLOPs of one {@link BSFDecoderLayer} (with both switches off: the standard
 * Mask2Former layer). Counts matrix products only, a multiply–add as 2 FLOPs; softmax,
 * LayerNorm, the gate's sigmoid and other element-wise work are left out (linear in
 * `N·D`, a few percent at Mask2Former's sizes).
 *
 * Per attention over `nk` keys with `nq` queries: `4·nq·D² + 4·nk·D² + 4·nq·nk·D`
 * (q/out projections, k/v projections, scores and weighted sum). Gate: `4·N·D²`
 * (`[N, 2D]×[2D, D]`). FFN: `4·N·D·F`.
 */
export function bsfLayerFlops(
  sizes: DecoderLayerSizes,
  options: { readonly semanticRefinement?: boolean; readonly conditionRefinement?: boolean } = {},
): BSFLayerFlops {
  for (const [k, v] of Object.entries(sizes)) {
    const zeroOk = k === 'conditions';
    if (!Number.isInteger(v) || v < 0 || (v === 0 && !zeroOk)) {
      throw new ValueError(`${k}: expected a ${zeroOk ? 'non-negative' : 'positive'} integer, received ${v}`, k);
    }
  }
  const { batch: b, queries: n, pixels: p, conditions: t, hiddenDim: d, ffnDim: f } = sizes;
  const sr = options.semanticRefinement ?? true;
  const cr = options.conditionRefinement ?? true;
  const crossAttention = b * attentionFlops(n, p, d);
  const selfAttention = b * attentionFlops(n, n, d);
  const ffn = b * 4 * n * d * f;
  const semanticRefinement = sr && t > 0 ? b * (attentionFlops(n, t, d) + 4 * n * d * d) : 0;
  const conditionRefinement = cr && t > 0 ? b * attentionFlops(t, n, d) : 0;
  return {
    crossAttention,
    semanticRefinement,
    selfAttention,
    ffn,
    conditionRefinement,
    total: crossAttention + semanticRefinement + selfAttention + ffn + conditionRefinement,
  };
}
