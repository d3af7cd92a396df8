import { writeVarint } from './varint.js';

/** Protobuf wire types used by ONNX's messages. */
export const WireType = {
  /** int32, int64, uint64, bool, enum. */
  varint: 0,
  /** string, bytes, embedded messages, packed repeated fields. */
  lengthDelimited: 2,
  /** float (fixed32). */
  fixed32: 5,
} as const;

/** Byte arrays at least this long are referenced, not copied, until {@link ProtoWriter.finish}. */
const LARGE_CHUNK = 256;

const utf8 = new TextEncoder();

/**
 * Minimal protobuf encoder: fields are appended in call order (callers write them in field
 * number order, as protobuf's own serializers do, so output is deterministic).
 *
 * Nested messages are separate writers whose chunks are spliced in behind a length prefix, so
 * big payloads (weights as `raw_data`) are copied exactly once, into the final buffer.
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private length = 0;

  /** Bytes written so far. */
  get byteLength(): number {
    return this.length + this.pending.length;
  }

  private tag(field: number, wireType: number): void {
    writeVarint(field * 8 + wireType, this.pending);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.length += this.pending.length;
    this.pending = [];
  }

  private appendBytes(bytes: Uint8Array): void {
    if (bytes.length >= LARGE_CHUNK) {
      this.flush();
      this.chunks.push(bytes);
      this.length += bytes.length;
    } else {
      for (let i = 0; i < bytes.length; i++) this.pending.push(bytes[i]!);
    }
  }

  /** `int32`/`int64`/`uint64`/`enum`/`bool` field (wire type 0). */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WireType.varint);
    writeVarint(value, this.pending);
    return this;
  }

  /** `float` field (wire type 5, IEEE 754 little-endian). */
  float32(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.appendBytes(b);
    return this;
  }

  /** `bytes` field (wire type 2). The array must not change until {@link ProtoWriter.finish}. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited);
    writeVarint(value.length, this.pending);
    this.appendBytes(value);
    return this;
  }

  /** `string` field (UTF-8, wire type 2). */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Embedded message field (wire type 2). */
  message(field: number, message: ProtoWriter): this {
    this.tag(field, WireType.lengthDelimited);
    writeVarint(message.byteLength, this.pending);
    message.flush();
    this.flush();
    this.chunks.push(...message.chunks);
    this.length += message.length;
    return this;
  }

  /** The encoded message as one buffer. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}
