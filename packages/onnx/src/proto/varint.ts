import { ValueError } from '@flowseg/core';

const TWO_POW_63 = 1n << 63n;
const TWO_POW_64 = 1n << 64n;

/**
 * Append the protobuf base-128 varint of `value` to `out`.
 *
 * Non-negative values take 1–10 bytes, 7 bits each, least significant group first, with the
 * high bit set on every byte but the last. Negative values are written as their 64-bit two's
 * complement (always 10 bytes), which is how protobuf encodes a negative `int64`/`int32`.
 * Numbers must be safe integers; larger values go through `bigint` (int64 or uint64 range).
 */
export function writeVarint(value: number | bigint, out: number[]): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new ValueError(`varint: expected a safe integer, received ${value}`, 'value');
    }
    if (value < 0) {
      writeVarint(BigInt(value), out);
      return;
    }
    let v = value;
    // Division instead of >>> keeps values above 2³¹ exact.
    while (v > 0x7f) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return;
  }
  if (value < -TWO_POW_63 || value >= TWO_POW_64) {
    throw new ValueError(`varint: ${value} is outside the int64/uint64 range`, 'value');
  }
  let v = BigInt.asUintN(64, value);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/**
 * The protobuf base-128 varint bytes of `value`: 7 bits per byte, least significant group
 * first; negative values as their 64-bit two's complement (10 bytes).
 */
export function encodeVarint(value: number | bigint): Uint8Array {
  const out: number[] = [];
  writeVarint(value, out);
  return Uint8Array.from(out);
}
