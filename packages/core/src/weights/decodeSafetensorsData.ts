import { WeightsError } from '../errors/FlowSegError.js';
import type { SafetensorsDType } from './safetensorsDTypes.js';

/** Values of one tensor decoded into the array type its TF.js dtype uses. */
export type DecodedTensorData = Float32Array | Int32Array | Uint8Array;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let halfTable: Float32Array | null = null;

/** IEEE 754 binary16 → float32 for every bit pattern (built once: 256 KiB, exact). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) table[h] = sign * fraction * 2 ** -24; // zero and subnormals
    else if (exponent === 31) table[h] = fraction ? NaN : sign * Infinity;
    else table[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

/**
 * A copy of `bytes` in a fresh, aligned buffer (safe to view as any element type).
 * Not `bytes.slice()`: on a Node `Buffer` that returns a view, not a copy.
 */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/**
 * Decode one tensor's little-endian bytes to float32/int32/bool values.
 *
 * @param name - tensor name, for error messages.
 * @param dtype - the header dtype.
 * @param bytes - exactly the tensor's bytes (`count · bytesPerElement`).
 * @param count - number of elements.
 * @throws WeightsError when the dtype has no TF.js counterpart, or an I64 value does not fit int32.
 */
export function decodeSafetensorsData(
  name: string,
  dtype: SafetensorsDType,
  bytes: Uint8Array,
  count: number,
): DecodedTensorData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN_HOST) return new Float32Array(alignedCopy(bytes));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F16': {
      const table = halfToFloatTable();
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(2 * i, true)]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN_HOST) return new Int32Array(alignedCopy(bytes));
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const low = view.getUint32(8 * i, true);
        const high = view.getInt32(8 * i + 4, true);
        // Fits int32 iff the high word is the sign extension of the low word.
        if (high !== (low & 0x80000000 ? -1 : 0)) {
          const value = (BigInt(high) << 32n) | BigInt(low);
          throw new WeightsError(
            `tensor "${name}": I64 value ${value} at index ${i} does not fit int32 (TF.js has no int64)`,
            name,
          );
        }
        out[i] = low | 0;
      }
      return out;
    }
    case 'U8':
    case 'I8':
    case 'I16':
    case 'U16': {
      const out = new Int32Array(count);
      const read =
        dtype === 'U8'
          ? (i: number) => view.getUint8(i)
          : dtype === 'I8'
            ? (i: number) => view.getInt8(i)
            : dtype === 'I16'
              ? (i: number) => view.getInt16(2 * i, true)
              : (i: number) => view.getUint16(2 * i, true);
      for (let i = 0; i < count; i++) out[i] = read(i);
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[i] ? 1 : 0;
      return out;
    }
    default:
      throw new WeightsError(
        `tensor "${name}": dtype ${dtype} has no TF.js counterpart (readable: F32, F16, BF16, F64, I64, I32, I16, U16, I8, U8, BOOL)`,
        name,
      );
  }
}
