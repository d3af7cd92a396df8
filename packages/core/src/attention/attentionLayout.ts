/**
 * How {@link MultiHeadAttention} evaluates one call:
 * - `'perHead'`: `[B, h, Nq, dh] × [B, h, dh, Nk]` batched products (the general case);
 * - `'fewKeys'`: the keys of all heads side by side in one block-diagonal matrix, so the scores
 *   of every head come from one `[B·Nq, D] × [D, h·Nk]` product (and the values likewise);
 * - `'fewQueries'`: the same with the roles swapped, for a handful of queries over many keys;
 * - `'foldedKeys'`: `'fewKeys'` with the query and output projections folded into the keys and
 *   values: `(x·Wq)·k̂ᵀ = x·(k̂·Wqᵀ)ᵀ` and `(a·v̂)·Wo = a·(v̂·Wo)`, so the `Nq` rows are never
 *   projected — `h·Nk` key rows are, instead;
 * - `'foldedQueries'`: `'fewQueries'` with the key and value projections folded into the
 *   queries: `q̂·(k·Wk)ᵀ = (q̂·Wkᵀ)·kᵀ` and, since each weight row sums to 1,
 *   `a·(v·Wv + bv) = (a·v)·Wv + bv`. The key bias is dropped: it adds `q̂·bk` to every score of
 *   a row, which the softmax cancels (so `k_proj.bias` gets no gradient; its true gradient is 0).
 *
 * All five compute the same attention (to float rounding); they differ in work and kernels.
 */
export type AttentionLayout = 'perHead' | 'fewKeys' | 'fewQueries' | 'foldedKeys' | 'foldedQueries';

/** Sizes of one attention call besides `nq`, `nk`, `heads`, `dim` (see {@link attentionLayout}). */
export interface AttentionLayoutOptions {
  /** Width of the raw keys (default `dim`). */
  readonly keyDim?: number;
  /** Width of the raw values (default `dim`). */
  readonly valueDim?: number;
  /**
   * Whether a folded layout may be used (default true). `MultiHeadAttention` passes false while
   * attention dropout is active: `'foldedQueries'` passes the value bias through only because
   * each weight row sums to 1, which dropped weights do not.
   */
  readonly fold?: boolean;
}

/**
 * The layout {@link MultiHeadAttention} uses for `nq` queries over `nk` keys with `heads` heads
 * of total width `dim` (an unmasked call; an attention mask always means `'perHead'`).
 *
 * The block-diagonal layouts multiply `heads` times more zeros than the per-head products, so
 * they are used only while that stays within one `dim × dim` projection's work per row
 * (`heads·n ≤ dim`): then two plain 2-D products replace `2·B·h` tiny ones, which on wasm each
 * pay a dispatch and a copy. A folded layout is taken when it does fewer FLOPs than its block
 * layout ({@link attentionLayoutFlops}) — for BSF at the paper's size (200 queries, 8
 * conditions, 8 heads) it does 2.1× fewer in both the semantic attention and the condition
 * refinement (0.57× the textbook count).
 */
export function attentionLayout(
  nq: number,
  nk: number,
  heads: number,
  dim: number,
  options: AttentionLayoutOptions = {},
): AttentionLayout {
  const block: AttentionLayout = heads * nk <= dim ? 'fewKeys' : heads * nq <= dim ? 'fewQueries' : 'perHead';
  if (block === 'perHead' || options.fold === false) return block;
  const folded: AttentionLayout = block === 'fewKeys' ? 'foldedKeys' : 'foldedQueries';
  const cost = (layout: AttentionLayout) => attentionLayoutFlops(layout, nq, nk, heads, dim, options);
  return cost(folded) < cost(block) ? folded : block;
}

/**
 * FLOPs of the matrix products one batch item of an attention call runs in `layout`
 * (projections included; a multiply–add = 2; the block layouts' structural zeros included,
 * softmax and element-wise work not). `'perHead'` is the textbook count
 * `2·(2·Nq·D² + Nk·D·(Dk + Dv) + 2·Nq·Nk·D)`.
 */
export function attentionLayoutFlops(
  layout: AttentionLayout,
  nq: number,
  nk: number,
  heads: number,
  dim: number,
  options: Pick<AttentionLayoutOptions, 'keyDim' | 'valueDim'> = {},
): number {
  const d = dim;
  const kd = options.keyDim ?? dim;
  const vd = options.valueDim ?? dim;
  const h = heads;
  const keyValueProjections = nk * d * (kd + vd);
  switch (layout) {
    case 'perHead':
      return 2 * (2 * nq * d * d + keyValueProjections + 2 * nq * nk * d);
    case 'fewKeys':
    case 'fewQueries':
      return 2 * (2 * nq * d * d + keyValueProjections + 2 * h * nq * nk * d);
    case 'foldedKeys':
      // k̃ = k̂·Wqᵀ and ṽ = v̂·Wo over h·Nk rows, the q-bias term k̂·bq, scores and weighted sum.
      return 2 * (keyValueProjections + 2 * h * nk * d * d + h * nk * d + 2 * nq * h * nk * d);
    case 'foldedQueries':
      // q and out projections, q̃ = q̂·Wkᵀ, scores against raw keys, a·v, then ·Wv.
      return 2 * (2 * nq * d * d + h * nq * d * kd + nk * kd * h * nq + h * nq * nk * vd + h * nq * vd * d);
  }
}
