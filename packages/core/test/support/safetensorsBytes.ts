/** Hand-assembled safetensors files for tests: 8-byte LE header length, header text, data. */
export function buildSafetensors(header: string | object, data: ArrayLike<number> = [], declaredLength?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(Array.from(data), 8 + h.length);
  return out;
}

/** Little-endian bytes of 16-bit words. */
export function u16le(words: number[]): number[] {
  return words.flatMap((w) => [w & 0xff, (w >> 8) & 0xff]);
}

/** Little-endian bytes of float32 values. */
export function f32le(values: number[]): number[] {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return [...b];
}

/** Little-endian bytes of int64 values. */
export function i64le(values: bigint[]): number[] {
  const b = new Uint8Array(values.length * 8);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigInt64(8 * i, x, true));
  return [...b];
}

/** The header JSON of a serialized file. */
export function headerOf(file: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, unknown>;
}
