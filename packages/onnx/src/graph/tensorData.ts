import * as tf from '@tensorflow/tfjs';
import { DTypeError, ValueError } from '@flowseg/core';
import { ONNX_BYTES_PER_ELEMENT, ONNX_ELEMENT_TYPES, type OnnxElementType } from '../proto/onnxProto.js';

/** Typed arrays that hold ONNX tensor data (bool and uint8 as `Uint8Array`). */
export type OnnxTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A tensor as element type, shape and a typed array (row-major). */
export interface OnnxTypedTensor {
  /** Element type. */
  readonly dtype: OnnxElementType;
  /** Shape; `[]` for a scalar. */
  readonly dims: readonly number[];
  /** Row-major elements; bool as 0/1 bytes. */
  readonly data: OnnxTypedArray;
}

const ARRAY_TYPES: Readonly<Record<OnnxElementType, new (n: number) => OnnxTypedArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int8: Int8Array,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Throws a {@link ValueError} unless every entry is a non-negative integer. */
export function checkStaticDims(dims: readonly number[], argument: string): void {
  if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new ValueError(`${argument}: expected non-negative integer sizes, received [${String(dims)}]`, argument);
  }
}

/**
 * Validate a typed tensor: a known element type, an array of the matching class, and as many
 * elements as its shape holds. Returns it unchanged.
 */
export function checkTypedTensor(t: OnnxTypedTensor, argument: string): OnnxTypedTensor {
  if (!ONNX_ELEMENT_TYPES.includes(t.dtype)) {
    throw new DTypeError(argument, ONNX_ELEMENT_TYPES, String(t.dtype));
  }
  checkStaticDims(t.dims, `${argument}.dims`);
  const ctor = ARRAY_TYPES[t.dtype];
  if (!(t.data instanceof ctor)) {
    throw new DTypeError(`${argument}.data`, [ctor.name], t.data?.constructor?.name ?? typeof t.data);
  }
  if (t.data.length !== elementCount(t.dims)) {
    throw new ValueError(
      `${argument}: shape [${t.dims.join(', ')}] holds ${elementCount(t.dims)} elements, data has ${t.data.length}`,
      argument,
    );
  }
  if (t.dtype === 'bool' && (t.data as Uint8Array).some((b) => b > 1)) {
    throw new ValueError(`${argument}: bool data must be 0 or 1 bytes`, argument);
  }
  return t;
}

/** TF.js dtypes that map onto ONNX element types one-to-one. */
const FROM_TF: Readonly<Partial<Record<tf.DataType, OnnxElementType>>> = {
  float32: 'float32',
  int32: 'int32',
  bool: 'bool',
};

/** The ONNX element type of a TF.js dtype; {@link DTypeError} for `string`/`complex64`. */
export function onnxTypeOfTf(dtype: tf.DataType, argument: string): OnnxElementType {
  const t = FROM_TF[dtype];
  if (!t) throw new DTypeError(argument, Object.keys(FROM_TF), dtype);
  return t;
}

/** Copy a TF.js tensor's data synchronously into a typed tensor. */
export function typedTensorFromTf(tensor: tf.Tensor, argument: string): OnnxTypedTensor {
  const dtype = onnxTypeOfTf(tensor.dtype, argument);
  const values = tensor.dataSync();
  const data = dtype === 'bool' ? Uint8Array.from(values as ArrayLike<number>) : (values as Float32Array | Int32Array).slice();
  return { dtype, dims: tensor.shape, data };
}

/** Row-major little-endian bytes of a typed tensor (ONNX `raw_data`). */
export function littleEndianBytes(t: OnnxTypedTensor): Uint8Array {
  const size = ONNX_BYTES_PER_ELEMENT[t.dtype];
  const src = t.data;
  if (LITTLE_ENDIAN || size === 1) {
    return new Uint8Array(src.buffer, src.byteOffset, src.length * size).slice();
  }
  const out = new Uint8Array(src.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    switch (t.dtype) {
      case 'float32':
        view.setFloat32(i * 4, v as number, true);
        break;
      case 'float64':
        view.setFloat64(i * 8, v as number, true);
        break;
      case 'int32':
        view.setInt32(i * 4, v as number, true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, v as bigint, true);
        break;
    }
  }
  return out;
}

/** An empty typed array of the class that holds `dtype` (for building typed tensors). */
export function allocateTyped(dtype: OnnxElementType, length: number): OnnxTypedArray {
  return new ARRAY_TYPES[dtype](length);
}
