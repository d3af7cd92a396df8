import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encodeVarint } from '@flowseg/onnx';

/** Reference protobuf varint decoder (BigInt, 64-bit two's complement for negatives). */
function decode(bytes: Uint8Array): bigint {
  let v = 0n;
  bytes.forEach((b, i) => (v |= BigInt(b & 0x7f) << BigInt(7 * i)));
  return BigInt.asIntN(64, v);
}

describe('encodeVarint', () => {
  it('round-trips every safe integer and int64 bigint; continuation bits only on non-final bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), (value) => {
        const bytes = encodeVarint(value);
        expect(decode(bytes)).toBe(BigInt(value));
        expect(bytes.length).toBeLessThanOrEqual(10);
        bytes.forEach((b, i) => expect(b >= 0x80).toBe(i < bytes.length - 1));
      }),
      { numRuns: 500, seed: 101 },
    );
  });

  it('refuses what protobuf cannot hold (fractions, NaN, ±∞, beyond int64) with an error, never wrong bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(0.5, -1.25, NaN, Infinity, -Infinity, 2n ** 64n, -(2n ** 63n) - 1n), (value) => {
        expect(() => encodeVarint(value)).toThrow();
      }),
      { numRuns: 14, seed: 102 },
    );
  });
});
