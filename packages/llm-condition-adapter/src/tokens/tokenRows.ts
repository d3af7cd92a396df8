import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, checkShapes } from '@flowseg/core';

/**
 * Token ids of a batch: one row per sequence (`number[][]`, `Int32Array[]`; rows may differ
 * in length) or an int32 tensor `[batch, tokens]`. A tensor is read back synchronously, so
 * on a GPU backend prefer plain arrays (the tokenizer's output) to avoid a readback.
 */
export type TokenIdsInput = readonly ArrayLike<number>[] | tf.Tensor2D;

/**
 * Which tokens are real: one row per sequence with `1` = real token and `0` = padding (the
 * usual `attention_mask`), as arrays or a tensor `[batch, tokens]` of dtype int32, float32
 * or bool. Values other than 0 and 1 are rejected.
 */
export type TokenMaskInput = readonly ArrayLike<number | boolean>[] | tf.Tensor2D;

/** Token ids as plain rows (tensors read back). */
export function readTokenRows(tokenIds: TokenIdsInput): ArrayLike<number>[] {
  if (tokenIds instanceof tf.Tensor) {
    checkShapes({ tokenIds: { tensor: tokenIds, axes: ['batch', 'tokens'], dtypes: ['int32'] } });
    return tokenIds.arraySync();
  }
  if (!Array.isArray(tokenIds)) {
    throw new ValueError(
      `tokenIds: expected an array of rows or an int32 tensor [batch, tokens], received ${typeof tokenIds}`,
      'tokenIds',
    );
  }
  tokenIds.forEach((row, i) => {
    if (row == null || typeof row !== 'object' || typeof row.length !== 'number') {
      throw new ValueError(`tokenIds: row ${i} is not an array of token ids`, 'tokenIds');
    }
  });
  return tokenIds as ArrayLike<number>[];
}

/**
 * Read a token mask into one 0/1 row per sequence, checking it against the token rows.
 * @param mask - the mask.
 * @param rows - token rows it must match row for row.
 */
export function readMaskRows(mask: TokenMaskInput, rows: readonly ArrayLike<number>[]): Uint8Array[] {
  let raw: ArrayLike<number | boolean>[];
  if (mask instanceof tf.Tensor) {
    checkShapes(
      { attentionMask: { tensor: mask, axes: ['batch', 'tokens'], dtypes: ['int32', 'float32', 'bool'] } },
      {},
    );
    raw = mask.arraySync() as ArrayLike<number | boolean>[];
  } else if (Array.isArray(mask)) {
    raw = mask as ArrayLike<number | boolean>[];
  } else {
    throw new ValueError(
      `attentionMask: expected an array of rows or a tensor [batch, tokens], received ${typeof mask}`,
      'attentionMask',
    );
  }
  if (raw.length !== rows.length) {
    const width = raw[0]?.length ?? 0;
    throw new ShapeError(
      'attentionMask',
      `[batch=${rows.length}, tokens]`,
      [raw.length, width],
      `batch: ${raw.length} ≠ ${rows.length}`,
    );
  }
  return raw.map((maskRow, i) => {
    const n = rows[i]!.length;
    if (maskRow == null || maskRow.length !== n) {
      throw new ShapeError(
        'attentionMask',
        `row ${i} of ${n} tokens (as tokenIds)`,
        [maskRow?.length ?? 0],
        `tokens: ${maskRow?.length ?? 0} ≠ ${n}`,
      );
    }
    const out = new Uint8Array(n);
    for (let t = 0; t < n; t++) {
      const v = Number(maskRow[t]);
      if (v !== 0 && v !== 1) {
        throw new ValueError(
          `attentionMask: batch item ${i}, position ${t}: expected 0 (padding) or 1 (token), received ${String(maskRow[t])}`,
          'attentionMask',
        );
      }
      out[t] = v;
    }
    return out;
  });
}
