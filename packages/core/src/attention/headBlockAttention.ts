import * as tf from '@tensorflow/tfjs';

/**
 * How {@link MultiHeadAttention} lays out its per-head products:
 * - `'perHead'`: `[B, h, Nq, dh] × [B, h, dh, Nk]` batched products (the general case);
 * - `'fewKeys'`: the keys of all heads side by side in one block-diagonal matrix, so the scores
 *   of every head come from one `[B·Nq, D] × [D, h·Nk]` product (and the values likewise);
 * - `'fewQueries'`: the same with the roles swapped, for a handful of queries over many keys.
 */
export type AttentionLayout = 'perHead' | 'fewKeys' | 'fewQueries';

/**
 * The layout for `nq` queries over `nk` keys with `heads` heads of total width `dim`. The
 * block-diagonal layouts multiply `heads` times more zeros than the per-head products, so they
 * are used only while that stays within one `dim × dim` projection's work per row (`heads·n ≤ dim`):
 * then two plain 2-D products replace `2·B·h` tiny ones, which on wasm each pay a dispatch and a
 * copy (BSF's semantic attention reads 8 conditions, its condition refinement writes 8).
 */
export function attentionLayout(nq: number, nk: number, heads: number, dim: number): AttentionLayout {
  if (heads * nk <= dim) return 'fewKeys';
  if (heads * nq <= dim) return 'fewQueries';
  return 'perHead';
}

const blockMasks = new Map<string, Float32Array>();

/**
 * `[heads, n, dim]` 0/1 tensor, 1 where channel `d` belongs to head `h` (`⌊d / (dim/heads)⌋ = h`),
 * for every one of the `n` rows. Host values are cached, the tensor is made per call (no
 * long-lived tensor to leak or to outlive a backend).
 */
function headBlockMask(heads: number, n: number, dim: number): tf.Tensor3D {
  const key = `${heads}/${n}/${dim}`;
  let values = blockMasks.get(key);
  if (!values) {
    const dh = dim / heads;
    values = new Float32Array(heads * n * dim);
    for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) values.fill(1, (h * n + i) * dim + h * dh, (h * n + i) * dim + (h + 1) * dh);
    blockMasks.set(key, values);
  }
  return tf.tensor3d(values, [heads, n, dim]);
}

/**
 * Rows `x[b, i]` repeated once per head with only that head's channels kept:
 * `[batch, heads·n, dim]`, row `(h, i)` = `x[b, i] ⊙ mask[h, i]` (one broadcast multiply with
 * the `[heads, n, dim]` {@link headBlockMask}).
 */
function perHeadRows(x: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor3D {
  const [b, n, dim] = x.shape;
  return tf.reshape(tf.mul(tf.reshape(x, [b, 1, n, dim]), mask), [b, mask.shape[0] * n, dim]);
}

/** Inputs shared by both block layouts (projected, `q` already scaled by `1/√d_head`). */
export interface HeadBlockInputs {
  /** Scaled projected queries `[batch, queries, channels]`. */
  readonly q: tf.Tensor3D;
  /** Projected keys `[batch, keys, channels]`. */
  readonly k: tf.Tensor3D;
  /** Projected values `[batch, keys, channels]`. */
  readonly v: tf.Tensor3D;
  /** Key padding `[batch, keys]`, float32 1 = padding, or null. */
  readonly padded: tf.Tensor2D | null;
  /** Number of heads. */
  readonly heads: number;
  /** Applied to the attention weights (already 0 outside training). */
  readonly dropout: number;
  /** Also return the weights `[batch, heads, queries, keys]`. */
  readonly returnWeights: boolean;
  /** Added to the scores of padded keys. */
  readonly blocked: number;
}

/** Result of a block layout: heads merged, before the output projection. */
export interface HeadBlockOutputs {
  /** `weights · V` with heads concatenated `[batch, queries, channels]`. */
  readonly ctx: tf.Tensor3D;
  /** Attention weights `[batch, heads, queries, keys]` when asked for. */
  readonly weights?: tf.Tensor4D;
}

/** 1 for items with at least one unpadded key, `[batch, 1, 1]` (a fully padded item attends to nothing). */
function itemSeesAKey(padded: tf.Tensor2D): tf.Tensor3D {
  const [b] = padded.shape;
  return tf.reshape(tf.sub(1, tf.min(padded, 1)), [b, 1, 1]);
}

/**
 * `'fewKeys'`: `S = q · K̂ᵀ` with `K̂[(h, m), d] = k[m, d]·[d ∈ head h]` `[B, h·Nk, D]`, softmax
 * over each head's `Nk` columns, then `ctx = W · V̂` with `V̂` built like `K̂`, which lands every
 * head's context in its own channels: the heads come out merged.
 */
export function attendFewKeys(x: HeadBlockInputs): HeadBlockOutputs {
  const { q, k, v, heads } = x;
  const [b, nq, dim] = q.shape;
  const nk = k.shape[1];
  const mask = headBlockMask(heads, nk, dim); // shared by K̂ and V̂
  let scores: tf.Tensor = tf.reshape(tf.matMul(q, perHeadRows(k, mask), false, true), [b, nq, heads, nk]);
  if (x.padded) scores = tf.add(scores, tf.reshape(tf.mul(x.padded, x.blocked), [b, 1, 1, nk]));
  let weights: tf.Tensor = tf.reshape(tf.softmax(scores), [b, nq, heads * nk]);
  const seen = x.padded ? itemSeesAKey(x.padded) : null;
  if (seen && x.returnWeights) weights = tf.mul(weights, seen);
  const dropped = x.dropout > 0 ? tf.dropout(weights, x.dropout) : weights;
  let ctx = tf.matMul(dropped, perHeadRows(v, mask)) as tf.Tensor3D; // [B, Nq, D]
  if (seen && !x.returnWeights) ctx = tf.mul(ctx, seen);
  if (!x.returnWeights) return { ctx };
  return { ctx, weights: tf.transpose(tf.reshape(weights, [b, nq, heads, nk]), [0, 2, 1, 3]) as tf.Tensor4D };
}

/**
 * `'fewQueries'`: `Sᵀ = k · Q̂ᵀ` with `Q̂[(h, i), d] = q[i, d]·[d ∈ head h]` `[B, h·Nq, D]`,
 * softmax over the keys, `P = W · v` `[B, h·Nq, D]`, then each row keeps its head's channels
 * and the heads are summed: `ctx[i, d] = P[(head(d), i), d]`.
 */
export function attendFewQueries(x: HeadBlockInputs): HeadBlockOutputs {
  const { q, k, v, heads } = x;
  const [b, nq, dim] = q.shape;
  const nk = k.shape[1];
  const mask = headBlockMask(heads, nq, dim); // shared by Q̂ and the channel selection below
  let scoresT: tf.Tensor = tf.matMul(k, perHeadRows(q, mask), false, true); // [B, Nk, h·Nq]
  if (x.padded) scoresT = tf.add(scoresT, tf.reshape(tf.mul(x.padded, x.blocked), [b, nk, 1]));
  let weights: tf.Tensor = tf.softmax(tf.transpose(scoresT, [0, 2, 1])); // [B, h·Nq, Nk]
  const seen = x.padded ? itemSeesAKey(x.padded) : null;
  if (seen && x.returnWeights) weights = tf.mul(weights, seen);
  const dropped = x.dropout > 0 ? tf.dropout(weights, x.dropout) : weights;
  // [B, h, Nq, D] with other heads' channels zeroed, then the heads summed.
  const all = tf.mul(tf.reshape(tf.matMul(dropped, v), [b, heads, nq, dim]), mask);
  let ctx = tf.sum(all, 1) as tf.Tensor3D;
  if (seen && !x.returnWeights) ctx = tf.mul(ctx, seen);
  if (!x.returnWeights) return { ctx };
  return { ctx, weights: tf.reshape(weights, [b, heads, nq, nk]) as tf.Tensor4D };
}
