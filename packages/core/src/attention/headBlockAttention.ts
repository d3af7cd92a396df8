import * as tf from '@tensorflow/tfjs';

const blockMasks = new Map<string, Float32Array>();

/**
 * `[heads, n, dim]` 0/1 tensor, 1 where channel `d` belongs to head `h` (`⌊d / (dim/heads)⌋ = h`),
 * for every one of the `n` rows. Host values are cached, the tensor is made per call (no
 * long-lived tensor to leak or to outlive a backend).
 */
export function headBlockMask(heads: number, n: number, dim: number): tf.Tensor3D {
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
export function perHeadRows(x: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor3D {
  const [b, n, dim] = x.shape;
  return tf.reshape(tf.mul(tf.reshape(x, [b, 1, n, dim]), mask), [b, mask.shape[0] * n, dim]);
}

const columnMasks = new Map<string, Float32Array>();

/** `[dim, heads, 1]` tensor, `scale` where channel `d` belongs to head `h`, else 0 (host values cached, like {@link headBlockMask}). */
function headColumnMask(heads: number, dim: number, scale: number): tf.Tensor3D {
  const key = `${heads}/${dim}/${scale}`;
  let values = columnMasks.get(key);
  if (!values) {
    const dh = dim / heads;
    values = new Float32Array(dim * heads);
    for (let d = 0; d < dim; d++) values[d * heads + Math.floor(d / dh)] = scale;
    columnMasks.set(key, values);
  }
  return tf.tensor3d(values, [dim, heads, 1]);
}

/**
 * `[batch, dim, heads·n]`: the transpose of {@link perHeadRows} times `scale`, column `(h, i)` =
 * `scale·x[b, i]` with only head `h`'s channels kept (the scale rides on the mask: no extra
 * kernel). Built from `xᵀ` (`dim × n`, small) so a product can take it as its right-hand side
 * without a transpose flag (which wasm serves slowly).
 */
export function perHeadColumns(x: tf.Tensor3D, heads: number, scale = 1): tf.Tensor3D {
  const [b, n, dim] = x.shape;
  const columnMask = headColumnMask(heads, dim, scale);
  return tf.reshape(tf.mul(tf.reshape(tf.transpose(x, [0, 2, 1]), [b, dim, 1, n]), columnMask), [b, dim, heads * n]);
}

/** What every block layout needs besides its operands. */
export interface HeadBlockSettings {
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

/** Inputs shared by both block layouts (projected, `q` already scaled by `1/√d_head`). */
export interface HeadBlockInputs extends HeadBlockSettings {
  /** Scaled projected queries `[batch, queries, channels]`. */
  readonly q: tf.Tensor3D;
  /** Projected keys `[batch, keys, channels]`. */
  readonly k: tf.Tensor3D;
  /** Projected values `[batch, keys, channels]`. */
  readonly v: tf.Tensor3D;
}

/** Result of a block layout: heads merged, before the output projection. */
export interface HeadBlockOutputs {
  /** `weights · V` with heads concatenated `[batch, queries, channels]`. */
  readonly ctx: tf.Tensor3D;
  /** Attention weights `[batch, heads, queries, keys]` when asked for. */
  readonly weights?: tf.Tensor4D;
}

/** Softmaxed weights of a block layout, ready for the weighted sum. */
export interface BlockWeights {
  /** Weights after dropout, in the layout's own arrangement. */
  readonly dropped: tf.Tensor;
  /** `[batch, 1, 1]`, 1 for items that see some key; null without padding. Multiply the result by it unless the weights are returned (they already are). */
  readonly seen: tf.Tensor3D | null;
  /** The weights `[batch, heads, queries, keys]` when asked for. */
  readonly weights?: tf.Tensor4D;
}

/** 1 for items with at least one unpadded key, `[batch, 1, 1]` (a fully padded item attends to nothing). */
function itemSeesAKey(padded: tf.Tensor2D): tf.Tensor3D {
  const [b] = padded.shape;
  return tf.reshape(tf.sub(1, tf.min(padded, 1)), [b, 1, 1]);
}

/**
 * Weights from scores laid out `[batch, queries, heads·keys]` (the few-keys layouts): padding
 * bias (plus `scoreBias` `[batch, 1, heads·keys]`, if any, in the same small add), softmax over
 * each head's keys, dropout.
 */
export function fewKeysWeights(scores: tf.Tensor3D, scoreBias: tf.Tensor3D | null, s: HeadBlockSettings): BlockWeights {
  const [b, nq, hk] = scores.shape;
  const nk = hk / s.heads;
  let bias: tf.Tensor | null = scoreBias ? tf.reshape(scoreBias, [b, 1, s.heads, nk]) : null;
  if (s.padded) {
    const pad = tf.reshape(tf.mul(s.padded, s.blocked), [b, 1, 1, nk]);
    bias = bias ? tf.add(bias, pad) : pad;
  }
  const shaped = tf.reshape(scores, [b, nq, s.heads, nk]);
  let weights: tf.Tensor = tf.reshape(tf.softmax(bias ? tf.add(shaped, bias) : shaped), [b, nq, hk]);
  const seen = s.padded ? itemSeesAKey(s.padded) : null;
  if (seen && s.returnWeights) weights = tf.mul(weights, seen);
  const dropped = s.dropout > 0 ? tf.dropout(weights, s.dropout) : weights;
  if (!s.returnWeights) return { dropped, seen };
  return { dropped, seen, weights: tf.transpose(tf.reshape(weights, [b, nq, s.heads, nk]), [0, 2, 1, 3]) as tf.Tensor4D };
}

/**
 * Weights from transposed scores `[batch, keys, heads·queries]` (the few-queries layouts):
 * padding bias, softmax over the keys, dropout; the weights come out `[batch, heads·queries, keys]`.
 */
export function fewQueriesWeights(scoresT: tf.Tensor3D, s: HeadBlockSettings): BlockWeights {
  const [b, nk, hq] = scoresT.shape;
  const biased = s.padded ? tf.add(scoresT, tf.reshape(tf.mul(s.padded, s.blocked), [b, nk, 1])) : scoresT;
  let weights: tf.Tensor = tf.softmax(tf.transpose(biased, [0, 2, 1])); // [B, h·Nq, Nk]
  const seen = s.padded ? itemSeesAKey(s.padded) : null;
  if (seen && s.returnWeights) weights = tf.mul(weights, seen);
  const dropped = s.dropout > 0 ? tf.dropout(weights, s.dropout) : weights;
  if (!s.returnWeights) return { dropped, seen };
  return { dropped, seen, weights: tf.reshape(weights, [b, s.heads, hq / s.heads, nk]) as tf.Tensor4D };
}

/** `[B, h·Nq, D]` per-head rows → `[B, Nq, D]`: each channel taken from its own head's row (the others masked to 0, then summed). */
export function mergeHeadRows(rows: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor3D {
  const [b, , dim] = rows.shape;
  const [heads, nq] = mask.shape;
  return tf.sum(tf.mul(tf.reshape(rows, [b, heads, nq, dim]), mask), 1) as tf.Tensor3D;
}

/**
 * `'fewKeys'`: `S = q · K̂ᵀ` with `K̂[(h, m), d] = k[m, d]·[d ∈ head h]` `[B, h·Nk, D]`, softmax
 * over each head's `Nk` columns, then `ctx = W · V̂` with `V̂` built like `K̂`, which lands every
 * head's context in its own channels: the heads come out merged.
 */
export function attendFewKeys(x: HeadBlockInputs): HeadBlockOutputs {
  const { q, k, v, heads } = x;
  const mask = headBlockMask(heads, k.shape[1], q.shape[2]); // shared by K̂ and V̂
  const w = fewKeysWeights(tf.matMul(q, perHeadRows(k, mask), false, true), null, x);
  let ctx = tf.matMul(w.dropped, perHeadRows(v, mask)) as tf.Tensor3D; // [B, Nq, D]
  if (w.seen && !x.returnWeights) ctx = tf.mul(ctx, w.seen);
  return w.weights ? { ctx, weights: w.weights } : { ctx };
}

/**
 * `'fewQueries'`: `Sᵀ = k · Q̂ᵀ` with `Q̂[(h, i), d] = q[i, d]·[d ∈ head h]` `[B, h·Nq, D]`,
 * softmax over the keys, `P = W · v` `[B, h·Nq, D]`, then each row keeps its head's channels
 * and the heads are summed: `ctx[i, d] = P[(head(d), i), d]`.
 */
export function attendFewQueries(x: HeadBlockInputs): HeadBlockOutputs {
  const { q, k, v, heads } = x;
  const mask = headBlockMask(heads, q.shape[1], q.shape[2]); // shared by Q̂ and the channel selection below
  const w = fewQueriesWeights(tf.matMul(k, perHeadRows(q, mask), false, true), x);
  let ctx = mergeHeadRows(tf.matMul(w.dropped, v) as tf.Tensor3D, mask);
  if (w.seen && !x.returnWeights) ctx = tf.mul(ctx, w.seen);
  return w.weights ? { ctx, weights: w.weights } : { ctx };
}
