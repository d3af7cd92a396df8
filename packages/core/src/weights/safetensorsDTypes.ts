import type * as tf from '@tensorflow/tfjs';

/** Every element type the safetensors format defines (its header spelling). */
export const SAFETENSORS_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
] as const;

/** A safetensors element type, as spelled in the file header. */
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

/** Bytes per element of each safetensors dtype (needed to validate any file, readable or not). */
export const SAFETENSORS_BYTES_PER_ELEMENT: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/**
 * The TF.js dtype each readable safetensors dtype decodes to. Floats widen or narrow to
 * float32 (F64 loses precision; F16/BF16 are exact); integers that always fit become int32;
 * I64 becomes int32 only when every value fits (checked on read). Types with no TF.js
 * counterpart (F8_*, U32, U64) are absent: files holding them parse, but reading those
 * tensors throws a WeightsError.
 */
export const SAFETENSORS_DECODED_DTYPE: Readonly<Partial<Record<SafetensorsDType, tf.DataType>>> = {
  BOOL: 'bool',
  U8: 'int32',
  I8: 'int32',
  I16: 'int32',
  U16: 'int32',
  F16: 'float32',
  BF16: 'float32',
  I32: 'int32',
  F32: 'float32',
  F64: 'float32',
  I64: 'int32',
};

/** Whether a header dtype string is one the safetensors format defines. */
export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(value);
}
