import type * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors/FlowSegError.js';
import type { SafetensorsDType } from './safetensorsDTypes.js';
import { METADATA_KEY, assertTensorName } from './tensorNames.js';

/** Tensors to write, by name: a `Map` or a plain object. */
export type NamedTensors = ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>;

/** How each writable TF.js dtype is stored. */
const STORED: Partial<Record<tf.DataType, { dtype: SafetensorsDType; bytes: number }>> = {
  float32: { dtype: 'F32', bytes: 4 },
  int32: { dtype: 'I32', bytes: 4 },
  bool: { dtype: 'BOOL', bytes: 1 },
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `NamedTensors` as entries, in the caller's order. */
export function namedTensorEntries(tensors: NamedTensors): [string, tf.Tensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, tf.Tensor>);
}

/**
 * Serialize tensors to the safetensors format: float32 as F32, int32 as I32, bool as BOOL.
 * Layout follows the reference implementation: tensors ordered by alignment then name, the
 * header padded with spaces so the data buffer starts 8-byte aligned. Every name, dtype and
 * metadata value is checked before any tensor data is read.
 *
 * @param tensors - name → tensor (names: see {@link parseSafetensors}'s rules; not `__metadata__`).
 * @param metadata - optional string → string map stored as `__metadata__`.
 * @returns the whole file.
 * @throws WeightsError on an invalid name, a disposed tensor, an unwritable dtype or a non-string metadata value.
 */
export function serializeSafetensors(tensors: NamedTensors, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const context = 'serializeSafetensors';
  const entries = namedTensorEntries(tensors).map(([name, tensor]) => {
    assertTensorName(name, context);
    if (tensor.isDisposed) throw new WeightsError(`${context}: tensor "${name}" is disposed`, name);
    const stored = STORED[tensor.dtype];
    if (!stored) {
      throw new WeightsError(`${context}: tensor "${name}" has dtype ${tensor.dtype}; writable: float32, int32, bool`, name);
    }
    return { name, tensor, ...stored };
  });
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new WeightsError(`${context}: metadata "${key}" must be a string, received ${typeof value}`, 'metadata');
      }
    }
  }
  // Wider elements first keeps every tensor aligned to its element size.
  entries.sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const e of entries) {
    const length = e.tensor.size * e.bytes;
    parts.push(
      `${JSON.stringify(e.name)}:${JSON.stringify({ dtype: e.dtype, shape: e.tensor.shape, data_offsets: [offset, offset + length] })}`,
    );
    offset += length;
  }
  // Built by hand: JSON.stringify on an object would move integer-like names to the front.
  let headerText = `{${parts.join(',')}}`;
  const encoder = new TextEncoder();
  let header = encoder.encode(headerText);
  const padding = (8 - (header.byteLength % 8)) % 8;
  if (padding > 0) {
    headerText += ' '.repeat(padding);
    header = encoder.encode(headerText);
  }

  const out = new Uint8Array(8 + header.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(header.byteLength), true);
  out.set(header, 8);
  let at = 8 + header.byteLength;
  for (const e of entries) {
    const values = e.tensor.dataSync();
    if (e.dtype === 'BOOL') {
      for (let i = 0; i < values.length; i++) out[at + i] = values[i] ? 1 : 0;
    } else if (LITTLE_ENDIAN_HOST && (values instanceof Float32Array || values instanceof Int32Array)) {
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    } else if (e.dtype === 'F32') {
      for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i] as number, true);
    } else {
      for (let i = 0; i < values.length; i++) view.setInt32(at + 4 * i, values[i] as number, true);
    }
    at += e.tensor.size * e.bytes;
  }
  return out;
}
