import * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors/FlowSegError.js';
import {
  isSafetensorsDType,
  SAFETENSORS_BYTES_PER_ELEMENT,
  SAFETENSORS_DECODED_DTYPE,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
} from './safetensorsDTypes.js';
import { decodeSafetensorsData, type DecodedTensorData } from './decodeSafetensorsData.js';
import { duplicateJsonKeys } from './duplicateJsonKeys.js';
import { METADATA_KEY, tensorNameProblem } from './tensorNames.js';

/** Largest header accepted, in bytes (the reference implementation's limit). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** Where one tensor lives in a safetensors file, as declared (and validated) in its header. */
export interface SafetensorsTensorInfo {
  /** Tensor name (header key). */
  readonly name: string;
  /** Element type as stored. */
  readonly dtype: SafetensorsDType;
  /** Shape, outermost axis first (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** `[begin, end)` byte range relative to the start of the data buffer (after the header). */
  readonly dataOffsets: readonly [number, number];
}

function fail(message: string, argument?: string): never {
  throw new WeightsError(`safetensors: ${message}`, argument);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Validate one header entry against the data buffer size; never allocates tensor memory. */
function parseEntry(name: string, entry: unknown, dataLength: number): SafetensorsTensorInfo {
  const problem = tensorNameProblem(name);
  if (problem) fail(`invalid tensor name ${JSON.stringify(name)}: ${problem}`, name);
  const label = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(entry)) fail(`${label}: header entry must be an object with dtype, shape, data_offsets`, name);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isSafetensorsDType(dtype)) {
    fail(`${label}: unknown dtype ${JSON.stringify(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`, name);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    fail(`${label}: shape must be an array of non-negative integers, received ${JSON.stringify(shape)}`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    fail(`${label}: data_offsets must be [begin, end] non-negative integers, received ${JSON.stringify(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${label}: data_offsets [${begin}, ${end}] end before they begin`, name);
  if (end > dataLength) {
    fail(`${label}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data buffer (truncated file?)`, name);
  }
  // The product is exact while it stays below 2^53; beyond that it exceeds any real buffer anyway.
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = count * SAFETENSORS_BYTES_PER_ELEMENT[dtype];
  if (expected !== end - begin) {
    fail(
      `${label}: ${dtype} ${describeShape(shape as number[])} needs ${expected} bytes but data_offsets ` +
        `[${begin}, ${end}] hold ${end - begin}`,
      name,
    );
  }
  return { name, dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/**
 * The buffer must be covered exactly: ranges sorted by offset start at 0, each begins where
 * the previous ended (no overlap, no gap), and the last ends at the end of the file — the
 * rule of the reference `safetensors` implementation, so every file accepted here loads
 * in PyTorch too.
 */
function checkCoverage(infos: SafetensorsTensorInfo[], dataLength: number): void {
  const sorted = [...infos].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous: SafetensorsTensorInfo | null = null;
  for (const info of sorted) {
    const [begin, end] = info.dataOffsets;
    if (begin < cursor) {
      fail(
        `tensor ${JSON.stringify(info.name)} [${begin}, ${end}) overlaps tensor ` +
          `${JSON.stringify(previous!.name)} [${previous!.dataOffsets[0]}, ${previous!.dataOffsets[1]})`,
        info.name,
      );
    }
    if (begin > cursor) {
      fail(
        `bytes [${cursor}, ${begin}) of the data buffer belong to no tensor (gap before ` +
          `${JSON.stringify(info.name)}); safetensors buffers must be contiguous`,
        info.name,
      );
    }
    cursor = end;
    previous = info;
  }
  if (cursor !== dataLength) {
    fail(`bytes [${cursor}, ${dataLength}) at the end of the data buffer belong to no tensor`);
  }
}

/**
 * A parsed, validated safetensors file. Tensor data stays in the given bytes and is decoded
 * only when asked for, one tensor at a time (so a caller can load part of a large file).
 * The file keeps a view of the bytes passed to {@link parseSafetensors}: do not modify them.
 */
export class SafetensorsFile {
  private readonly infos: ReadonlyMap<string, SafetensorsTensorInfo>;

  /** @internal Use {@link parseSafetensors}. */
  constructor(
    private readonly data: Uint8Array,
    infos: readonly SafetensorsTensorInfo[],
    /** The `__metadata__` string map (empty when the file has none). */
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.infos = new Map(infos.map((i) => [i.name, i]));
  }

  /** Tensor names in data-buffer order. */
  get names(): string[] {
    return [...this.infos.keys()];
  }

  /** Whether the file holds a tensor called `name`. */
  has(name: string): boolean {
    return this.infos.has(name);
  }

  /** Header entry of `name`; throws a {@link WeightsError} when absent. */
  info(name: string): SafetensorsTensorInfo {
    const info = this.infos.get(name);
    if (!info) fail(`no tensor named ${JSON.stringify(name)} (file holds ${this.infos.size})`, name);
    return info;
  }

  /** The raw little-endian bytes of `name` (a view into the file, not a copy). */
  rawBytes(name: string): Uint8Array {
    const [begin, end] = this.info(name).dataOffsets;
    return this.data.subarray(begin, end);
  }

  /**
   * Decoded values of `name` in a fresh array: float32 for F32/F16/BF16/F64, int32 for
   * integer types (I64 only when every value fits), 0/1 bytes for BOOL.
   */
  values(name: string): DecodedTensorData {
    const info = this.info(name);
    const count = info.shape.reduce((a, b) => a * b, 1);
    return decodeSafetensorsData(name, info.dtype, this.rawBytes(name), count);
  }

  /** `name` as a new tensor (the caller owns and disposes it). */
  tensor(name: string): tf.Tensor {
    const info = this.info(name);
    return tf.tensor(this.values(name), [...info.shape], SAFETENSORS_DECODED_DTYPE[info.dtype]);
  }

  /**
   * Several tensors (default: all) as a name → tensor map. All values are decoded before
   * any tensor is created, so a failure (an unknown name, an unreadable dtype, an I64 value
   * beyond int32) creates nothing.
   */
  tensors(names: readonly string[] = this.names): Map<string, tf.Tensor> {
    const decoded = names.map((name) => [name, this.values(name)] as const);
    const out = new Map<string, tf.Tensor>();
    for (const [name, values] of decoded) {
      const info = this.info(name);
      out.set(name, tf.tensor(values, [...info.shape], SAFETENSORS_DECODED_DTYPE[info.dtype]));
    }
    return out;
  }
}

/**
 * Parse and validate a safetensors file (8-byte little-endian header length `N`, `N` bytes
 * of UTF-8 JSON header, then the data buffer). Everything is checked before any tensor
 * memory is allocated: the header length against the file, the JSON (including duplicate
 * keys, which `JSON.parse` would hide), dtype names, shapes, each tensor's byte size, and that
 * the tensors cover the buffer exactly (no overlap, no gap, no trailing bytes).
 *
 * @param bytes - the whole file.
 * @throws WeightsError describing the first problem found.
 */
export function parseSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsFile {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
    fail('expected the file as a Uint8Array or ArrayBuffer');
  }
  // A plain Uint8Array view (a Node Buffer's subarray/slice semantics differ).
  const file = bytes instanceof Uint8Array ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  if (file.byteLength < 8) {
    fail(`file is ${file.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const declared = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    fail(`header length ${declared} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit (corrupt file?)`);
  }
  const headerLength = Number(declared);
  if (8 + headerLength > file.byteLength) {
    fail(`header length ${headerLength} exceeds the ${file.byteLength - 8} bytes after it (truncated file?)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLength));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, received ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`);
  const duplicates = duplicateJsonKeys(text);
  if (duplicates.length > 0) fail(`header repeats key(s) ${duplicates.join(', ')}`);

  const metadata: Record<string, string> = {};
  const rawMetadata = header[METADATA_KEY];
  if (rawMetadata !== undefined) {
    if (!isPlainObject(rawMetadata)) fail(`${METADATA_KEY} must be an object of strings`);
    for (const [key, value] of Object.entries(rawMetadata)) {
      if (typeof value !== 'string') {
        fail(`${METADATA_KEY}.${key} must be a string, received ${JSON.stringify(value)}`);
      }
      metadata[key] = value;
    }
  }

  const data = file.subarray(8 + headerLength);
  const infos = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, entry]) => parseEntry(name, entry, data.byteLength));
  checkCoverage(infos, data.byteLength);
  infos.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  return new SafetensorsFile(data, infos, metadata);
}

/**
 * Read every tensor of a safetensors file into a name → tensor map (F32/F16/BF16/F64 as
 * float32, integers as int32, BOOL as bool). A corrupt or truncated file throws a
 * {@link WeightsError} and creates no tensor. The caller owns the returned tensors.
 */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): Map<string, tf.Tensor> {
  return parseSafetensors(bytes).tensors();
}
