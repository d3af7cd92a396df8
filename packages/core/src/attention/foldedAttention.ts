import * as tf from '@tensorflow/tfjs';
import type { Linear } from '../layers/Linear.js';
import {
  fewKeysWeights,
  fewQueriesWeights,
  headBlockMask,
  mergeHeadRows,
  perHeadColumns,
  perHeadRows,
  type HeadBlockSettings,
} from './headBlockAttention.js';

/**
 * `W · x` for a kernel `W` `[in, c]` and per-item columns `x` `[B, c, n]`: `[B, in, n]`, as one
 * 2-D product with the kernel on the left, so it needs no transpose flag (slow on wasm) and the
 * fresh right-hand side is the small `c × n` one. (Items side by side, not a broadcast batch
 * product: TF.js's BatchMatMul gradient does not reduce a broadcast batch axis.)
 */
function kernelTimes(kernel: tf.Tensor2D, x: tf.Tensor3D): tf.Tensor3D {
  const [b, c, n] = x.shape;
  const rows = kernel.shape[0];
  if (b === 1) return tf.reshape(tf.matMul(kernel, tf.reshape(x, [c, n])), [1, rows, n]);
  const side = tf.reshape(tf.transpose(x, [1, 0, 2]), [c, b * n]);
  return tf.transpose(tf.reshape(tf.matMul(kernel, side), [rows, b, n]), [1, 0, 2]);
}

/** `x · W` for `x` `[B, n, c]` and `W` `[c, out]`, as one 2-D product: `[B, n, out]`. */
function timesKernel(x: tf.Tensor3D, kernel: tf.Tensor2D): tf.Tensor3D {
  const [b, n, c] = x.shape;
  return tf.reshape(tf.matMul(tf.reshape(x, [b * n, c]), kernel), [b, n, kernel.shape[1]]);
}

/** Inputs of {@link attendFoldedKeys}. */
export interface FoldedKeysInputs extends HeadBlockSettings {
  /** Raw queries (positions added) `[batch, queries, channels]`: never projected. */
  readonly query: tf.Tensor3D;
  /** Projected keys `[batch, keys, channels]`. */
  readonly k: tf.Tensor3D;
  /** The score scale `1/√d_head` (applied to the per-head key columns). */
  readonly scale: number;
  /** Projected values `[batch, keys, channels]`. */
  readonly v: tf.Tensor3D;
  /** The query projection `Wq, bq`. */
  readonly qProj: Linear;
  /** The output projection `Wo, bo`. */
  readonly outProj: Linear;
}

/**
 * `'foldedKeys'` (see `AttentionLayout`): scores `x·(Wq·k̂ᵀ) + bq·k̂ᵀ` `[B, Nq, h·Nk]`, then the
 * output `a·(v̂·Wo) + bo` — the `'fewKeys'` block layout with both `Nq`-row projections moved
 * onto the `h·Nk` key rows.
 * @returns the attention output `[batch, queries, channels]` (output projection included) and the weights when asked for.
 */
export function attendFoldedKeys(x: FoldedKeysInputs): { output: tf.Tensor3D; weights?: tf.Tensor4D } {
  const { query, k, v, heads } = x;
  const dim = query.shape[2];
  const mask = headBlockMask(heads, k.shape[1], dim);
  const kHatT = perHeadColumns(k, heads, x.scale); // [B, D, h·Nk], scaled
  const qBias = x.qProj.biasTensor();
  // (x·Wq + bq)·k̂ᵀ = x·(Wq·k̂ᵀ) + bq·k̂ᵀ; the second term is one value per key column.
  const scoreBias = qBias ? kernelTimes(tf.reshape(qBias, [1, dim]), kHatT) : null; // [B, 1, h·Nk]
  const w = fewKeysWeights(tf.matMul(query, kernelTimes(x.qProj.kernelTensor(), kHatT)) as tf.Tensor3D, scoreBias, x);
  let output = tf.matMul(w.dropped, timesKernel(perHeadRows(v, mask), x.outProj.kernelTensor())) as tf.Tensor3D; // [B, Nq, D]
  if (w.seen && !x.returnWeights) output = tf.mul(output, w.seen);
  const outBias = x.outProj.biasTensor();
  if (outBias) output = tf.add(output, outBias);
  return w.weights ? { output, weights: w.weights } : { output };
}

/** Inputs of {@link attendFoldedQueries}. */
export interface FoldedQueriesInputs extends HeadBlockSettings {
  /** Projected queries `[batch, queries, channels]`. */
  readonly q: tf.Tensor3D;
  /** The score scale `1/√d_head` (applied to the per-head query columns). */
  readonly scale: number;
  /** Raw keys (positions added) `[batch, keys, keyChannels]`: never projected. */
  readonly key: tf.Tensor3D;
  /** Raw values `[batch, keys, valueChannels]`: never projected. */
  readonly value: tf.Tensor3D;
  /** The key projection `Wk` (its bias cancels in the softmax). */
  readonly kProj: Linear;
  /** The value projection `Wv, bv`. */
  readonly vProj: Linear;
}

/**
 * `'foldedQueries'` (see `AttentionLayout`): transposed scores `key·(Wk·q̂ᵀ)` `[B, Nk, h·Nq]`,
 * weights `a` `[B, h·Nq, Nk]`, then `ctx = merge((a·value)·Wv) + bv` — the `'fewQueries'` block
 * layout with both `Nk`-row projections moved onto the `h·Nq` query rows. Needs weight rows
 * that sum to 1 (no dropout): that is what lets `bv` pass through.
 * @returns `ctx` `[batch, queries, channels]`, heads merged, before the output projection, and the weights when asked for.
 */
export function attendFoldedQueries(x: FoldedQueriesInputs): { ctx: tf.Tensor3D; weights?: tf.Tensor4D } {
  const { q, key, value, heads } = x;
  const mask = headBlockMask(heads, q.shape[1], q.shape[2]);
  const qTildeT = kernelTimes(x.kProj.kernelTensor(), perHeadColumns(q, heads, x.scale)); // [B, Dk, h·Nq]
  const w = fewQueriesWeights(tf.matMul(key, qTildeT) as tf.Tensor3D, { ...x, dropout: 0 });
  let ctx = mergeHeadRows(timesKernel(tf.matMul(w.dropped, value) as tf.Tensor3D, x.vProj.kernelTensor()), mask);
  const vBias = x.vProj.biasTensor();
  if (vBias) ctx = tf.add(ctx, vBias);
  // A fully padded item attends to nothing: its context is 0, value bias included.
  if (w.seen) ctx = tf.mul(ctx, w.seen);
  return w.weights ? { ctx, weights: w.weights } : { ctx };
}
