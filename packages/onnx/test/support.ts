/** Test helpers: seeded weights, seeded inputs, relative error, protobuf decoding. */
import * as tf from '@tensorflow/tfjs';
import type { FlowSegLayer } from '@flowseg/core';
import { OnnxSession } from '../src/index.js';

/** Overwrite every weight of `layer` with seeded uniform values in [-0.5, 0.5) (LayerNorm γ around 1). */
export function randomizeWeights(layer: FlowSegLayer, seed: number): void {
  let i = 0;
  for (const [name, v] of layer.namedWeights()) {
    const offset = /norm\.weight$|^weight$/.test(name) ? 1 : 0;
    const shape = v.shape as number[];
    tf.tidy(() => {
      v.write(tf.add(tf.randomUniform(shape, -0.5, 0.5, 'float32', seed * 1000 + i++), offset));
    });
  }
}

/** Seeded standard-normal float32 tensor. */
export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Seeded bool tensor, `true` with probability `p`. */
export function randomBool(shape: number[], seed: number, p = 0.3): tf.Tensor {
  return tf.tidy(() => tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), p));
}

/** max |a − b| / max |b| (b is the reference). */
export function relativeError(actual: tf.Tensor, reference: tf.Tensor): number {
  expectSameShape(actual, reference);
  const a = actual.dataSync();
  const b = reference.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

function expectSameShape(a: tf.Tensor, b: tf.Tensor): void {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] vs reference [${b.shape}]`);
}

/** A single-threaded ORT session (deterministic and light on the 2-core test machine). */
export function session(bytes: Uint8Array): Promise<OnnxSession> {
  return OnnxSession.create(bytes, { intraOpNumThreads: 1 });
}

/** One decoded protobuf field. */
export interface Field {
  field: number;
  wire: number;
  /** varint (bigint), fixed32 (raw 4 bytes) or length-delimited (bytes). */
  value: bigint | Uint8Array;
}

/** Read one varint at `pos`; returns [value, next position]. */
export function readVarint(bytes: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = bytes[pos++];
    if (b === undefined) throw new Error('truncated varint');
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

/** Decode the top-level fields of a protobuf message (an independent re-derivation of the wire format). */
export function decodeFields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const [tag, p1] = readVarint(bytes, pos);
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(bytes, p1);
      out.push({ field, wire, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(bytes, p1);
      out.push({ field, wire, value: bytes.subarray(p2, p2 + Number(len)) });
      pos = p2 + Number(len);
    } else if (wire === 5) {
      out.push({ field, wire, value: bytes.subarray(p1, p1 + 4) });
      pos = p1 + 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  if (pos !== bytes.length) throw new Error('message overruns its bytes');
  return out;
}

/** Fields numbered `field`. */
export function fieldsOf(fields: Field[], field: number): Field[] {
  return fields.filter((f) => f.field === field);
}

/** The UTF-8 string of a length-delimited field. */
export function text(f: Field | undefined): string {
  return new TextDecoder().decode(f!.value as Uint8Array);
}

/** Interpret a varint as a signed 64-bit integer. */
export function int64(f: Field | undefined): bigint {
  return BigInt.asIntN(64, f!.value as bigint);
}

/**
 * Run `s` on `feeds` and compare each output named in `reference` with it (same shape,
 * relative error below `tol`); returns ORT's outputs (the caller disposes them).
 */
export async function expectOutputsClose(
  s: OnnxSession,
  feeds: Record<string, tf.Tensor>,
  reference: Record<string, tf.Tensor | undefined>,
  tol = 1e-4,
): Promise<Record<string, tf.Tensor>> {
  const out = await s.run(feeds, { outputs: Object.keys(reference) });
  for (const [name, ref] of Object.entries(reference)) {
    if (!ref) throw new Error(`no reference for ${name}`);
    if (out[name]!.shape.join() !== ref.shape.join()) throw new Error(`${name}: shape [${out[name]!.shape}] vs reference [${ref.shape}]`);
    const err = relativeError(out[name]!, ref);
    if (!(err < tol)) throw new Error(`${name}: relative error ${err} ≥ ${tol}`);
  }
  return out;
}

/** Float32 0/1 validity mask `[rows.length, rows[0].length]` from nested arrays. */
export function maskOf(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], 'float32');
}
