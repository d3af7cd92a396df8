import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, DTypeError } from '@flowseg/core';

/** Token ids and mask in both forms the model needs: JS rows (for parsing) and int32 tensors. */
export interface TokenTensors {
  /** `[batch][tokens]` ids. */
  readonly rows: number[][];
  /** `[batch][tokens]` 1 = real, 0 = padding. */
  readonly maskRows: number[][];
  /** `[batch, tokens]` int32. */
  readonly ids: tf.Tensor2D;
  /** `[batch, tokens]` int32. */
  readonly mask: tf.Tensor2D;
  /** Free the tensors created here. */
  dispose(): void;
}

function toRows(value: readonly (readonly number[])[] | tf.Tensor2D, argument: string): number[][] {
  if (value instanceof tf.Tensor) {
    if (value.rank !== 2) throw new ShapeError(argument, '[batch, tokens]', value.shape, `rank ${value.rank}`);
    if (value.dtype !== 'int32' && value.dtype !== 'float32' && value.dtype !== 'bool') {
      throw new DTypeError(argument, ['int32'], value.dtype);
    }
    return value.arraySync() as number[][];
  }
  if (!Array.isArray(value)) throw new ValueError(`${argument}: expected number[][] or an int32 [batch, tokens] tensor`, argument);
  return value.map((row, i) => {
    if (!Array.isArray(row)) throw new ValueError(`${argument}[${i}]: expected an array of numbers`, argument);
    return [...row];
  });
}

/**
 * Validate token ids `[batch, tokens]` (rectangular, integers in `[0, vocabSize)`) and an
 * optional 0/1 mask of the same shape, and return both as rows and int32 tensors.
 */
export function tokenTensors(
  tokenIds: readonly (readonly number[])[] | tf.Tensor2D,
  attentionMask: readonly (readonly number[])[] | tf.Tensor2D | null,
  batch: number,
  vocabSize: number,
): TokenTensors {
  if (tokenIds instanceof tf.Tensor && tokenIds.dtype !== 'int32') throw new DTypeError('tokenIds', ['int32'], tokenIds.dtype);
  const rows = toRows(tokenIds, 'tokenIds');
  const length = rows[0]?.length ?? 0;
  if (rows.length !== batch) {
    throw new ShapeError('tokenIds', `[batch=${batch}, tokens]`, [rows.length, length], `batch: ${rows.length} ≠ ${batch} (images)`);
  }
  if (length === 0) throw new ShapeError('tokenIds', '[batch, tokens ≥ 1]', [rows.length, 0], 'no tokens');
  rows.forEach((row, b) => {
    if (row.length !== length) {
      throw new ShapeError('tokenIds', `[batch, tokens=${length}]`, [b, row.length], `row ${b} has ${row.length} tokens (pad rows to one length)`);
    }
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new ValueError(`tokenIds: batch item ${b}, position ${t}: id ${id} outside [0, ${vocabSize})`, 'tokenIds');
      }
    });
  });
  const maskRows = attentionMask === null ? rows.map((r) => r.map(() => 1)) : toRows(attentionMask, 'attentionMask');
  if (maskRows.length !== batch || maskRows.some((r) => r.length !== length)) {
    throw new ShapeError('attentionMask', `[batch=${batch}, tokens=${length}]`, [maskRows.length, maskRows[0]?.length ?? 0], 'must match tokenIds');
  }
  maskRows.forEach((row, b) =>
    row.forEach((v, t) => {
      if (v !== 0 && v !== 1) throw new ValueError(`attentionMask: batch item ${b}, position ${t}: expected 0 or 1, received ${v}`, 'attentionMask');
    }),
  );
  const ids = tf.tensor2d(rows, [batch, length], 'int32');
  const mask = tf.tensor2d(maskRows.map((r) => r.map(Number)), [batch, length], 'int32');
  return { rows, maskRows: maskRows.map((r) => r.map(Number)), ids, mask, dispose: () => tf.dispose([ids, mask]) };
}
