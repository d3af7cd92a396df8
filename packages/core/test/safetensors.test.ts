import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  selectBackend,
  SafetensorsFile,
  WeightsError,
  MAX_SAFETENSORS_HEADER_BYTES,
} from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { buildSafetensors, f32le, headerOf, i64le, u16le } from './support/safetensorsBytes.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Expect `fn` to throw a WeightsError whose message matches `pattern`, creating no tensor. */
function expectWeightsError(fn: () => unknown, pattern: RegExp): WeightsError {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a WeightsError').toBeInstanceOf(WeightsError);
  expect((caught as Error).message).toMatch(pattern);
  expect(tf.memory().numTensors).toBe(before);
  return caught as WeightsError;
}

/** Parse and decode everything (what a loader does). */
function readAll(bytes: Uint8Array): void {
  tf.dispose([...readSafetensors(bytes).values()]);
}

const f32 = (name: string, shape: number[], begin: number) => ({
  [name]: { dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] },
});

describe('serializeSafetensors / readSafetensors round trip', () => {
  it('round-trips float32, int32 and bool tensors, scalars, empty tensors and metadata', () => {
    const tensors = new Map<string, tf.Tensor>([
      ['layers.0.q_proj.kernel', tf.tensor2d([[1.5, -2.25, 3e-8], [Infinity, -0, 7]])],
      ['0', tf.tensor1d([NaN, 1, 2])], // integer-like name: JSON.stringify would reorder it
      ['steps', tf.tensor1d([-3, 0, 2147483647], 'int32')],
      ['flags', tf.tensor2d([[true, false], [false, true]], [2, 2], 'bool')],
      ['scale', tf.scalar(0.125)],
      ['empty', tf.zeros([0, 4])],
    ]);
    const metadata = { format: 'pt', 'flowseg.config': '{"dim":8}', empty: '' };
    const bytes = expectNoLeaks(() => serializeSafetensors(tensors, metadata));
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual(metadata);
    expect(new Set(file.names)).toEqual(new Set(tensors.keys()));
    const back = expectNoLeaks(() => readSafetensors(bytes));
    for (const [name, t] of tensors) {
      const r = back.get(name)!;
      expect(r.dtype, name).toBe(t.dtype);
      expect(r.shape, name).toEqual(t.shape);
      const want = [...t.dataSync()];
      const got = [...r.dataSync()];
      want.forEach((w, i) => expect(Object.is(got[i], w) || (Number.isNaN(w) && Number.isNaN(got[i])), `${name}[${i}]`).toBe(true));
    }
    expect(file.info('steps').dtype).toBe('I32');
    expect(file.info('flags').dtype).toBe('BOOL');
    expect(file.info('scale').shape).toEqual([]);
    tf.dispose([...tensors.values(), ...back.values()]);
  });

  it('accepts a plain object of tensors and omits __metadata__ when none is given', () => {
    const a = tf.tensor1d([1, 2]);
    const bytes = serializeSafetensors({ a });
    expect(Object.keys(headerOf(bytes))).toEqual(['a']);
    expect(parseSafetensors(bytes).metadata).toEqual({});
    a.dispose();
  });

  it('writes the reference layout: aligned header padded with spaces, contiguous little-endian data', () => {
    const bytes = serializeSafetensors(new Map([['b', tf.tensor1d([1.5])], ['a', tf.tensor1d([true], 'bool')], ['c', tf.tensor1d([-2], 'int32')]]));
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{')).toBe(true);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    // 4-byte types first (by name), 1-byte types last.
    expect(headerOf(bytes)).toEqual({
      b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      c: { dtype: 'I32', shape: [1], data_offsets: [4, 8] },
      a: { dtype: 'BOOL', shape: [1], data_offsets: [8, 9] },
    });
    expect([...bytes.subarray(8 + n)]).toEqual([0x00, 0x00, 0xc0, 0x3f, 0xfe, 0xff, 0xff, 0xff, 0x01]);
  });

  it('rejects what it cannot write, before reading any data', () => {
    const ok = tf.tensor1d([1]);
    const disposed = tf.tensor1d([1]);
    disposed.dispose();
    const str = tf.tensor1d(['x'], 'string');
    expectWeightsError(() => serializeSafetensors(new Map([['a', ok], ['b', disposed]])), /tensor "b" is disposed/);
    expectWeightsError(() => serializeSafetensors({ s: str }), /tensor "s" has dtype string; writable: float32, int32, bool/);
    expectWeightsError(() => serializeSafetensors({ __metadata__: ok }), /reserved for metadata/);
    expectWeightsError(() => serializeSafetensors({ '': ok }), /name is empty/);
    expectWeightsError(() => serializeSafetensors({ 'a\nb': ok }), /control character/);
    expectWeightsError(() => serializeSafetensors({ '../x': ok }), /"\.\." path segment/);
    expectWeightsError(
      () => serializeSafetensors({ a: ok }, { n: 3 as unknown as string }),
      /metadata "n" must be a string/,
    );
    tf.dispose([ok, str]);
  });
});

describe('decoding hand-built files', () => {
  it('decodes F16, including subnormals, ±0, ±Infinity and NaN', () => {
    const words = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const want = [1, -2, 0.5, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, -0, Infinity, -Infinity, NaN];
    const file = buildSafetensors({ h: { dtype: 'F16', shape: [3, 4], data_offsets: [0, 24] } }, u16le(words));
    const t = readSafetensors(file).get('h')!;
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([3, 4]);
    const got = [...t.dataSync()];
    want.forEach((w, i) => expect(Object.is(got[i], w), `word 0x${words[i]!.toString(16)} → ${got[i]}, want ${w}`).toBe(true));
    t.dispose();
  });

  it('decodes BF16 as the upper half of float32', () => {
    const words = [0x3f80, 0xc000, 0x4049, 0x7f7f, 0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x3e80];
    const want = [1, -2, 3.140625, 3.3895313892515355e38, 2 ** -133, -0, Infinity, -Infinity, NaN, 0.25];
    const file = buildSafetensors({ w: { dtype: 'BF16', shape: [10], data_offsets: [0, 20] } }, u16le(words));
    const values = parseSafetensors(file).values('w');
    expect(values).toBeInstanceOf(Float32Array);
    want.forEach((w, i) => expect(Object.is(values[i], w), `word 0x${words[i]!.toString(16)}`).toBe(true));
  });

  it('decodes integer types to int32, F64 to float32 and BOOL to bool', () => {
    const data = [
      ...i64le([-5n, 2147483647n, -2147483648n]), // I64 [0, 24)
      ...[0xff, 0x80], // U8 [24, 26)
      ...[0xff, 0x80], // I8 [26, 28)
      ...u16le([0xffff, 0x8000]), // I16 [28, 32)
      ...u16le([0xffff, 0x8000]), // U16 [32, 36)
      ...[0, 2, 1], // BOOL [36, 39) (any non-zero byte is true)
      ...[0], // padding tensor U8 [39, 40)
      ...(() => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, 0.1, true);
        return [...b];
      })(), // F64 [40, 48)
    ];
    const file = buildSafetensors(
      {
        i64: { dtype: 'I64', shape: [3], data_offsets: [0, 24] },
        u8: { dtype: 'U8', shape: [2], data_offsets: [24, 26] },
        i8: { dtype: 'I8', shape: [2], data_offsets: [26, 28] },
        i16: { dtype: 'I16', shape: [2], data_offsets: [28, 32] },
        u16: { dtype: 'U16', shape: [2], data_offsets: [32, 36] },
        b: { dtype: 'BOOL', shape: [3], data_offsets: [36, 39] },
        pad: { dtype: 'U8', shape: [1], data_offsets: [39, 40] },
        f64: { dtype: 'F64', shape: [], data_offsets: [40, 48] },
      },
      data,
    );
    const m = readSafetensors(file);
    const get = (n: string) => ({ dtype: m.get(n)!.dtype, values: [...m.get(n)!.dataSync()] });
    expect(get('i64')).toEqual({ dtype: 'int32', values: [-5, 2147483647, -2147483648] });
    expect(get('u8')).toEqual({ dtype: 'int32', values: [255, 128] });
    expect(get('i8')).toEqual({ dtype: 'int32', values: [-1, -128] });
    expect(get('i16')).toEqual({ dtype: 'int32', values: [-1, -32768] });
    expect(get('u16')).toEqual({ dtype: 'int32', values: [65535, 32768] });
    expect(get('b')).toEqual({ dtype: 'bool', values: [0, 1, 1] });
    expect(get('f64').dtype).toBe('float32');
    expect(get('f64').values[0]).toBe(Math.fround(0.1));
    tf.dispose([...m.values()]);
  });

  it('refuses I64 values beyond int32 and then creates no tensor at all', () => {
    const file = buildSafetensors(
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, big: { dtype: 'I64', shape: [2], data_offsets: [4, 20] } },
      [...f32le([1]), ...i64le([1n, 2n ** 31n])],
    );
    expectWeightsError(() => readSafetensors(file), /"big": I64 value 2147483648 at index 1 does not fit int32/);
  });

  it('parses files holding dtypes TF.js lacks, but refuses to read those tensors', () => {
    const file = buildSafetensors(
      { f8: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] }, u64: { dtype: 'U64', shape: [1], data_offsets: [2, 10] } },
      new Array(10).fill(0),
    );
    const parsed = parseSafetensors(file);
    expect(parsed.names).toEqual(['f8', 'u64']);
    expect([...parsed.rawBytes('u64')]).toHaveLength(8);
    expectWeightsError(() => parsed.tensor('f8'), /F8_E4M3 has no TF\.js counterpart/);
    expectWeightsError(() => readSafetensors(file), /no TF\.js counterpart/);
  });

  it('reads from a Node Buffer that is a view into a larger pool, at any alignment', () => {
    const t = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const file = serializeSafetensors({ t });
    for (const shift of [1, 2, 3, 5]) {
      const pooled = Buffer.concat([Buffer.alloc(shift, 0xaa), Buffer.from(file), Buffer.alloc(7, 0xbb)]).subarray(shift, shift + file.length);
      const back = readSafetensors(pooled).get('t')!;
      expect([...back.dataSync()]).toEqual([1, 2, 3, 4, 5, 6]);
      back.dispose();
    }
    t.dispose();
  });
});

describe('SafetensorsFile lazy access', () => {
  it('lists names in buffer order and decodes one tensor at a time', () => {
    const file = buildSafetensors({ ...f32('second', [1], 4), ...f32('first', [1], 0) }, f32le([10, 20]));
    const parsed = parseSafetensors(file);
    expect(parsed).toBeInstanceOf(SafetensorsFile);
    expect(parsed.names).toEqual(['first', 'second']);
    expect(parsed.has('first')).toBe(true);
    expect(parsed.has('third')).toBe(false);
    expect(parsed.info('second')).toEqual({ name: 'second', dtype: 'F32', shape: [1], dataOffsets: [4, 8] });
    const t = expectNoLeaks(() => parsed.tensor('second'));
    expect([...t.dataSync()]).toEqual([20]);
    const some = parsed.tensors(['first']);
    expect([...some.keys()]).toEqual(['first']);
    expectWeightsError(() => parsed.tensor('third'), /no tensor named "third"/);
    expectWeightsError(() => parsed.tensors(['first', 'third']), /no tensor named "third"/);
    tf.dispose([t, ...some.values()]);
  });

  it('accepts an empty header with no tensors', () => {
    expect(readSafetensors(buildSafetensors('{}')).size).toBe(0);
    expect(parseSafetensors(buildSafetensors('{"__metadata__":{"a":"b"}}  ')).metadata).toEqual({ a: 'b' });
  });
});

describe('validation of corrupt files (each loads nothing)', () => {
  const valid = buildSafetensors(f32('w', [2], 0), f32le([1, 2]));

  it('file shorter than 8 bytes', () => {
    expectWeightsError(() => parseSafetensors(new Uint8Array(0)), /file is 0 bytes; a safetensors file starts with an 8-byte header length/);
    expectWeightsError(() => parseSafetensors(valid.subarray(0, 7)), /file is 7 bytes/);
  });

  it('header length larger than the file (truncated)', () => {
    expectWeightsError(() => parseSafetensors(valid.subarray(0, 20)), /header length \d+ exceeds the 12 bytes after it \(truncated file\?\)/);
  });

  it('absurd header length (> 100 MB) is refused before anything else', () => {
    expectWeightsError(() => parseSafetensors(buildSafetensors('{}', [], BigInt(MAX_SAFETENSORS_HEADER_BYTES + 1))), /exceeds the 100000000-byte limit/);
    expectWeightsError(() => parseSafetensors(buildSafetensors('{}', [], 2n ** 64n - 1n)), /header length 18446744073709551615 exceeds/);
  });

  it('header not valid UTF-8', () => {
    const file = buildSafetensors('{"a":1}');
    file[10] = 0xff;
    expectWeightsError(() => parseSafetensors(file), /header is not valid UTF-8/);
  });

  it('header not valid JSON', () => {
    expectWeightsError(() => parseSafetensors(buildSafetensors('{"w": {"dtype": "F32",')), /header is not valid JSON/);
  });

  it('header JSON that is not an object', () => {
    expectWeightsError(() => parseSafetensors(buildSafetensors('[]')), /header must be a JSON object, received an array/);
    expectWeightsError(() => parseSafetensors(buildSafetensors('null')), /header must be a JSON object, received null/);
    expectWeightsError(() => parseSafetensors(buildSafetensors('42')), /header must be a JSON object, received 42/);
  });

  it('unknown dtype names', () => {
    for (const dtype of ['F17', 'f32', 'float32', 7]) {
      expectWeightsError(
        () => parseSafetensors(buildSafetensors({ w: { dtype, shape: [1], data_offsets: [0, 4] } }, f32le([1]))),
        /tensor "w": unknown dtype .* \(expected one of BOOL, U8/,
      );
    }
  });

  it('shape not an array of non-negative integers', () => {
    for (const shape of [[-1], [1.5], ['2'], 4, null, [2 ** 60]]) {
      expectWeightsError(
        () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape, data_offsets: [0, 4] } }, f32le([1]))),
        /tensor "w": shape must be an array of non-negative integers/,
      );
    }
  });

  it('malformed data_offsets', () => {
    for (const offsets of [[0], [0, 4, 8], [-4, 0], ['0', '4'], null, [0.5, 4]]) {
      expectWeightsError(
        () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: offsets } }, f32le([1]))),
        /data_offsets must be \[begin, end\] non-negative integers/,
      );
    }
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32le([1]))),
      /data_offsets \[4, 0\] end before they begin/,
    );
  });

  it('entry that is not an object', () => {
    expectWeightsError(() => parseSafetensors(buildSafetensors({ w: [1, 2] })), /tensor "w": header entry must be an object/);
  });

  it('byte size different from product(shape) · bytesPerElement', () => {
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32le([1, 2]))),
      /tensor "w": F32 \[3\] needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    );
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 8] } }, f32le([1, 2]))),
      /F16 \[2\] needs 4 bytes/,
    );
  });

  it('offsets beyond the data buffer (truncated data)', () => {
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32le([1, 2]))),
      /data_offsets \[0, 16\] run past the 8-byte data buffer \(truncated file\?\)/,
    );
  });

  it('huge declared shapes are refused from the header, never allocated', () => {
    // 4 GB declared, 8 bytes present: must fail on the sizes, not in an allocation.
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape: [1_000_000_000], data_offsets: [0, 4_000_000_000] } }, f32le([1, 2]))),
      /run past the 8-byte data buffer/,
    );
    // Product beyond 2^53 with small offsets.
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, f32le([1, 2]))),
      /needs \d.* bytes but data_offsets \[0, 8\] hold 8/,
    );
  });

  it('overlapping ranges', () => {
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ ...f32('a', [2], 0), ...f32('b', [2], 4) }, f32le([1, 2, 3]))),
      /tensor "b" \[4, 12\) overlaps tensor "a" \[0, 8\)/,
    );
    // Two names for the same bytes.
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ ...f32('a', [2], 0), ...f32('b', [2], 0) }, f32le([1, 2]))),
      /overlaps/,
    );
  });

  it('gaps in the buffer (strict, like the reference implementation)', () => {
    expectWeightsError(
      () => parseSafetensors(buildSafetensors({ ...f32('a', [1], 0), ...f32('b', [1], 8) }, f32le([1, 2, 3]))),
      /bytes \[4, 8\) of the data buffer belong to no tensor \(gap before "b"\)/,
    );
    expectWeightsError(
      () => parseSafetensors(buildSafetensors(f32('a', [1], 4), f32le([1, 2]))),
      /bytes \[0, 4\) .*gap before "a"/,
    );
  });

  it('trailing bytes after the last tensor', () => {
    expectWeightsError(
      () => parseSafetensors(buildSafetensors(f32('a', [1], 0), f32le([1, 2]))),
      /bytes \[4, 8\) at the end of the data buffer belong to no tensor/,
    );
  });

  it('duplicate tensor names in the header JSON (which JSON.parse would hide)', () => {
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectWeightsError(() => parseSafetensors(buildSafetensors(header, f32le([1, 2]))), /header repeats key\(s\) "w"/);
    // The same key spelled with an escape is still the same key.
    const escaped = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectWeightsError(() => parseSafetensors(buildSafetensors(escaped, f32le([1, 2]))), /repeats key\(s\) "w"/);
  });

  it('duplicate keys inside an entry or in the metadata', () => {
    const inner = '{"w":{"dtype":"F16","dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectWeightsError(() => parseSafetensors(buildSafetensors(inner, f32le([1]))), /repeats key\(s\) "w" → "dtype"/);
    const meta = '{"__metadata__":{"a":"1","b":"2","a":"3"}}';
    expectWeightsError(() => parseSafetensors(buildSafetensors(meta)), /repeats key\(s\) "__metadata__" → "a"/);
    // Equal keys in different objects are fine, and keys inside string values are not keys.
    const ok = '{"__metadata__":{"x":"\\"w\\":","w":"y"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(parseSafetensors(buildSafetensors(ok, f32le([1]))).metadata).toEqual({ x: '"w":', w: 'y' });
  });

  it('names with control characters or path traversal are rejected', () => {
    for (const [name, why] of [
      ['a\u0000b', /control character/],
      ['a\u001bb', /control character/],
      ['../../etc/passwd', /"\.\." path segment/],
      ['weights/../../x', /"\.\." path segment/],
      ['..\\x', /"\.\." path segment/],
      ['/etc/passwd', /absolute path/],
      ['', /name is empty/],
    ] as const) {
      expectWeightsError(() => parseSafetensors(buildSafetensors(f32(name, [1], 0), f32le([1]))), why);
    }
    // Dots inside ordinary names are fine.
    expect(parseSafetensors(buildSafetensors(f32('layers.0..x', [1], 0), f32le([1]))).names).toEqual(['layers.0..x']);
  });

  it('metadata that is not a string map', () => {
    expectWeightsError(() => parseSafetensors(buildSafetensors({ __metadata__: { n: 1 } })), /__metadata__\.n must be a string, received 1/);
    expectWeightsError(() => parseSafetensors(buildSafetensors({ __metadata__: ['a'] })), /__metadata__ must be an object of strings/);
  });

  it('every truncation of a valid file is refused with a WeightsError', () => {
    const t = tf.tensor2d([[1, 2], [3, 4]]);
    const file = serializeSafetensors({ t, u: tf.tensor1d([5]) }, { k: 'v' });
    for (let n = 0; n < file.length; n++) expectWeightsError(() => readAll(file.subarray(0, n)), /safetensors: /);
    t.dispose();
  });

  it('random corruption either decodes or throws a WeightsError, never anything else', () => {
    const file = serializeSafetensors({ a: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([7, 8, 9], 'int32') }, { note: 'x' });
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(file.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const bytes = file.slice();
          for (const e of edits) bytes[e.at] = e.value;
          const before = tf.memory().numTensors;
          try {
            readAll(bytes);
          } catch (e) {
            if (!(e instanceof WeightsError)) throw e;
          }
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 400, seed: 42 },
    );
  });
});
