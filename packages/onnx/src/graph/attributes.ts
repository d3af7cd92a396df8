import { ValueError } from '@flowseg/core';
import type { OnnxAttributeProto, OnnxTensorProto } from '../proto/onnxProto.js';
import { checkTypedTensor, littleEndianBytes, type OnnxTypedTensor } from './tensorData.js';

/** An attribute with its ONNX kind spelled out (needed for a float attribute with an integral value, e.g. `alpha = 1`). */
export type OnnxExplicitAttribute =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly (number | bigint)[] };

/**
 * A node attribute value. Plain values are typed by content: an integer `number` or a
 * `bigint` is INT, any other number FLOAT, a string STRING, an array of integers INTS (also
 * the empty array), an array with a non-integer FLOATS, a string array STRINGS and a
 * {@link OnnxTypedTensor} TENSOR. Use {@link onnxAttribute} where the content is ambiguous.
 */
export type OnnxAttributeValue =
  | number
  | bigint
  | string
  | readonly number[]
  | readonly bigint[]
  | readonly string[]
  | OnnxTypedTensor
  | OnnxExplicitAttribute;

/** Explicitly typed attribute values, e.g. `{ alpha: onnxAttribute.float(1) }`. */
export const onnxAttribute = {
  /** A FLOAT attribute. */
  float: (value: number): OnnxExplicitAttribute => ({ kind: 'float', value }),
  /** An INT attribute. */
  int: (value: number | bigint): OnnxExplicitAttribute => ({ kind: 'int', value }),
  /** A FLOATS attribute. */
  floats: (value: readonly number[]): OnnxExplicitAttribute => ({ kind: 'floats', value }),
  /** An INTS attribute. */
  ints: (value: readonly (number | bigint)[]): OnnxExplicitAttribute => ({ kind: 'ints', value }),
} as const;

function isInt(v: unknown): boolean {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
}

/** A typed tensor as a `TensorProto` named `name`. */
export function tensorProtoOf(name: string, t: OnnxTypedTensor): OnnxTensorProto {
  checkTypedTensor(t, name);
  return { name, dataType: t.dtype, dims: [...t.dims], rawData: littleEndianBytes(t) };
}

/** Convert one attribute value to its `AttributeProto` form (see {@link OnnxAttributeValue} for the typing rule). */
export function attributeProtoOf(name: string, value: OnnxAttributeValue): OnnxAttributeProto {
  const bad = (what: string) => new ValueError(`attribute ${name}: ${what}`, name);
  if (typeof value === 'number') {
    return isInt(value) ? { name, kind: 'int', value } : { name, kind: 'float', value };
  }
  if (typeof value === 'bigint') return { name, kind: 'int', value };
  if (typeof value === 'string') return { name, kind: 'string', value };
  if (Array.isArray(value)) {
    const arr = value as readonly unknown[];
    if (arr.every((v) => typeof v === 'string')) {
      if (arr.length > 0) return { name, kind: 'strings', value: arr as string[] };
    }
    if (arr.every(isInt)) return { name, kind: 'ints', value: arr as (number | bigint)[] };
    if (arr.every((v) => typeof v === 'number')) return { name, kind: 'floats', value: arr as number[] };
    throw bad('arrays must hold only numbers, only bigints or only strings');
  }
  if (value && typeof value === 'object') {
    if ('kind' in value) {
      const v = value as OnnxExplicitAttribute;
      const ok =
        v.kind === 'float'
          ? typeof v.value === 'number'
          : v.kind === 'int'
            ? isInt(v.value)
            : v.kind === 'floats'
              ? Array.isArray(v.value) && v.value.every((x) => typeof x === 'number')
              : v.kind === 'ints'
                ? Array.isArray(v.value) && v.value.every(isInt)
                : false;
      if (!ok) throw bad(`value does not fit kind ${String((v as { kind: unknown }).kind)}`);
      return { name, ...v } as OnnxAttributeProto;
    }
    if ('dtype' in value && 'data' in value) return { name, kind: 'tensor', value: tensorProtoOf(name, value) };
  }
  throw bad(`unsupported value ${String(value)}`);
}
