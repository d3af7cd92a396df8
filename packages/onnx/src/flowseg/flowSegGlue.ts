import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError } from '@flowseg/core';
import type { OnnxTypedTensor } from '../graph/tensorData.js';

/**
 * Plain-JavaScript pieces of the ONNX FlowSeg path: token validation and per-target row
 * gathering on typed arrays.
 * @internal
 */

/** Token ids as JS rows: arrays or a `[batch, tokens]` int32 tensor. */
export type TokenRowsInput = readonly (readonly number[])[] | tf.Tensor2D;

/** Validated token ids and mask as rows plus flat int32 arrays `[batch, tokens]`. @internal */
export interface TokenBatchRows {
  readonly rows: number[][];
  readonly maskRows: number[][];
  readonly tokens: number;
  readonly ids: Int32Array;
  readonly mask: Int32Array;
}

function toRows(value: TokenRowsInput, argument: string, dtypes: readonly string[]): number[][] {
  if (value instanceof tf.Tensor) {
    if (value.rank !== 2) throw new ShapeError(argument, '[batch, tokens]', value.shape, `rank ${value.rank}`);
    if (!dtypes.includes(value.dtype)) throw new DTypeError(argument, dtypes, value.dtype);
    return value.arraySync() as number[][];
  }
  if (!Array.isArray(value) || !value.every((r) => Array.isArray(r))) {
    throw new ValueError(`${argument}: expected number[][] or a [batch, tokens] int32 tensor`, argument);
  }
  return value.map((r) => [...r]);
}

/**
 * Validate token ids `[batch, tokens]` (rectangular, integers in `[0, vocabSize)`) and an
 * optional 0/1 mask of the same shape, as FlowSegModel does. @internal
 */
export function tokenBatchRows(
  tokenIds: TokenRowsInput,
  attentionMask: TokenRowsInput | null | undefined,
  batch: number,
  vocabSize: number,
): TokenBatchRows {
  const rows = toRows(tokenIds, 'tokenIds', ['int32']);
  const tokens = rows[0]?.length ?? 0;
  if (rows.length !== batch) {
    throw new ShapeError('tokenIds', `[batch=${batch}, tokens]`, [rows.length, tokens], `batch: ${rows.length} ≠ ${batch} (images)`);
  }
  if (tokens === 0) throw new ShapeError('tokenIds', '[batch, tokens ≥ 1]', [rows.length, 0], 'no tokens');
  rows.forEach((row, b) => {
    if (row.length !== tokens) {
      throw new ShapeError('tokenIds', `[batch, tokens=${tokens}]`, [b, row.length], `row ${b} has ${row.length} tokens (pad rows to one length)`);
    }
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new ValueError(`tokenIds: batch item ${b}, position ${t}: id ${id} outside [0, ${vocabSize})`, 'tokenIds');
      }
    });
  });
  const maskRows = attentionMask == null ? rows.map((r) => r.map(() => 1)) : toRows(attentionMask, 'attentionMask', ['int32', 'float32', 'bool']);
  if (maskRows.length !== batch || maskRows.some((r) => r.length !== tokens)) {
    throw new ShapeError('attentionMask', `[batch=${batch}, tokens=${tokens}]`, [maskRows.length, maskRows[0]?.length ?? 0], 'must match tokenIds');
  }
  maskRows.forEach((row, b) =>
    row.forEach((v, t) => {
      if (v !== 0 && v !== 1) throw new ValueError(`attentionMask: batch item ${b}, position ${t}: expected 0 or 1, received ${v}`, 'attentionMask');
    }),
  );
  return { rows, maskRows, tokens, ids: Int32Array.from(rows.flat()), mask: Int32Array.from(maskRows.flat()) };
}

/** A float32 typed tensor. @internal */
export function float32Tensor(data: Float32Array, dims: readonly number[]): OnnxTypedTensor {
  return { dtype: 'float32', dims: [...dims], data };
}

/** Rows `indices` of `data` viewed as `[rows, rowSize]`, concatenated. @internal */
export function gatherRows(data: Float32Array, rowSize: number, indices: readonly number[]): Float32Array {
  const out = new Float32Array(indices.length * rowSize);
  indices.forEach((i, r) => out.set(data.subarray(i * rowSize, (i + 1) * rowSize), r * rowSize));
  return out;
}

/** `[rows, from, width]` → `[rows, to, width]` keeping the first `to ≤ from` entries of the middle axis. @internal */
export function sliceMiddle(data: Float32Array, rows: number, from: number, to: number, width: number): Float32Array {
  if (to === from) return data;
  const out = new Float32Array(rows * to * width);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * from * width, (r * from + to) * width), r * to * width);
  return out;
}
