import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ValueError } from '@flowseg/core';
import { OnnxGraphBuilder, encodeVarint, encodeModelProto, onnxAttribute } from '../src/index.js';
import { ProtoWriter } from '../src/proto/ProtoWriter.js';
import { decodeFields, fieldsOf, int64, readVarint, session, text } from './support.js';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('varint', () => {
  it('encodes hand-checked values (7 bits per byte, low group first, 64-bit two’s complement for negatives)', () => {
    expect(hex(encodeVarint(0))).toBe('00');
    expect(hex(encodeVarint(1))).toBe('01');
    expect(hex(encodeVarint(127))).toBe('7f');
    expect(hex(encodeVarint(128))).toBe('80 01');
    expect(hex(encodeVarint(300))).toBe('ac 02'); // protobuf docs' example
    expect(hex(encodeVarint(2 ** 32))).toBe('80 80 80 80 10');
    expect(hex(encodeVarint(2 ** 53 - 1))).toBe('ff ff ff ff ff ff ff 0f');
    expect(hex(encodeVarint(-1))).toBe('ff ff ff ff ff ff ff ff ff 01');
    expect(hex(encodeVarint(-2))).toBe('fe ff ff ff ff ff ff ff ff 01');
    expect(hex(encodeVarint(2n ** 63n - 1n))).toBe('ff ff ff ff ff ff ff ff 7f');
    expect(hex(encodeVarint(-(2n ** 63n)))).toBe('80 80 80 80 80 80 80 80 80 01');
    expect(hex(encodeVarint(2n ** 64n - 1n))).toBe('ff ff ff ff ff ff ff ff ff 01');
  });

  it('refuses values it cannot represent', () => {
    expect(() => encodeVarint(1.5)).toThrow(ValueError);
    expect(() => encodeVarint(2 ** 53)).toThrow(ValueError);
    expect(() => encodeVarint(2n ** 64n)).toThrow(ValueError);
    expect(() => encodeVarint(-(2n ** 63n) - 1n)).toThrow(ValueError);
  });

  it('round-trips every int64 through an independent decoder, numbers and bigints alike', () => {
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), (v) => {
        const bytes = encodeVarint(v);
        const [decoded, end] = readVarint(bytes, 0);
        expect(end).toBe(bytes.length);
        expect(BigInt.asIntN(64, decoded)).toBe(v);
        if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(hex(encodeVarint(Number(v)))).toBe(hex(bytes));
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('ProtoWriter', () => {
  it('writes tags, floats, strings and nested messages', () => {
    const inner = new ProtoWriter().varint(1, 150);
    const w = new ProtoWriter().float32(2, 1).string(4, 'hi').message(3, inner);
    // float field 2 → tag 0x15, 1.0f = 00 00 80 3f; string field 4 → 0x22; message field 3 → 0x1a.
    expect(hex(w.finish())).toBe('15 00 00 80 3f 22 02 68 69 1a 03 08 96 01');
  });

  it('splices large byte payloads intact', () => {
    const big = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const outer = new ProtoWriter().message(1, new ProtoWriter().bytes(9, big).varint(2, 5));
    const [f] = decodeFields(outer.finish());
    const inner = decodeFields(f!.value as Uint8Array);
    expect(inner[0]!.field).toBe(9);
    expect(Array.from(inner[0]!.value as Uint8Array)).toEqual(Array.from(big));
    expect(inner[1]!.value).toBe(5n);
  });
});

describe('ONNX model bytes', () => {
  function addModel(): Uint8Array {
    const g = new OnnxGraphBuilder({ name: 'g' });
    g.addInput('a', 'float32', [2]);
    g.addInput('b', 'float32', [2]);
    g.addNode('Add', ['a', 'b'], ['c']);
    g.addOutput('c', 'float32', [2]);
    return g.serialize({ producerName: 't' });
  }

  it('a single Add model matches hand-assembled bytes', () => {
    // ValueInfoProto for name n, float [2]: name(1) 'n', type(2){ tensor_type(1){ elem_type(1)=1, shape(2){ dim(1){ dim_value(1)=2 } } } }
    const valueInfo = (n: number) => [0x0a, 0x01, n, 0x12, 0x0a, 0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x02];
    const node = [
      0x0a, 0x01, 0x61, // input 'a'
      0x0a, 0x01, 0x62, // input 'b'
      0x12, 0x01, 0x63, // output 'c'
      0x1a, 0x01, 0x63, // name 'c'
      0x22, 0x03, 0x41, 0x64, 0x64, // op_type 'Add'
    ];
    const graph = [
      0x0a, node.length, ...node, // node(1)
      0x12, 0x01, 0x67, // name(2) 'g'
      0x5a, 15, ...valueInfo(0x61), // input(11) a
      0x5a, 15, ...valueInfo(0x62), // input(11) b
      0x62, 15, ...valueInfo(0x63), // output(12) c
    ];
    const model = [
      0x08, 0x08, // ir_version(1) = 8
      0x12, 0x01, 0x74, // producer_name(2) 't'
      0x3a, graph.length, ...graph, // graph(7)
      0x42, 0x04, 0x0a, 0x00, 0x10, 0x11, // opset_import(8) { domain '' , version 17 }
    ];
    expect(graph.length).toBe(73);
    expect(hex(addModel())).toBe(hex(Uint8Array.from(model)));
  });

  it('the hand-checked Add model runs on ONNX Runtime', async () => {
    const s = await session(addModel());
    const out = await s.runTyped({
      a: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) },
      b: { dtype: 'float32', dims: [2], data: Float32Array.of(10, 20) },
    });
    expect(Array.from(out['c']!.data as Float32Array)).toEqual([11, 22]);
    await s.release();
  });

  it('initializers are raw little-endian data with dims and type; attributes carry their kind', () => {
    const g = new OnnxGraphBuilder();
    g.addInput('x', 'float32', ['batch', 3]);
    g.addInitializer('w', Float32Array.of(1.5, -2, 3.25), [3]);
    g.addInitializer('shape', BigInt64Array.of(-1n, 3n), [2]);
    g.addNode('Mul', ['x', 'w'], ['y']);
    g.addNode('Softmax', ['y'], ['z'], { axis: -1 });
    g.addNode('LeakyRelu', ['z'], ['u'], { alpha: onnxAttribute.float(1) });
    g.addNode('Transpose', ['u'], ['v'], { perm: [1, 0] });
    g.addOutput('v');
    const model = decodeFields(g.serialize());
    const graph = decodeFields(fieldsOf(model, 7)[0]!.value as Uint8Array);
    const [w, shape] = fieldsOf(graph, 5).map((f) => decodeFields(f.value as Uint8Array));
    // TensorProto: dims(1), data_type(2), name(8), raw_data(9)
    expect(fieldsOf(w!, 1).map((f) => f.value)).toEqual([3n]);
    expect(fieldsOf(w!, 2)[0]!.value).toBe(1n);
    expect(text(fieldsOf(w!, 8)[0])).toBe('w');
    const raw = fieldsOf(w!, 9)[0]!.value as Uint8Array;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    expect([0, 4, 8].map((o) => view.getFloat32(o, true))).toEqual([1.5, -2, 3.25]);
    expect(fieldsOf(shape!, 2)[0]!.value).toBe(7n); // INT64
    const rawShape = fieldsOf(shape!, 9)[0]!.value as Uint8Array;
    expect(new DataView(rawShape.buffer, rawShape.byteOffset).getBigInt64(0, true)).toBe(-1n);
    // Symbolic input axis: dim_param(2) 'batch'.
    const input = decodeFields(fieldsOf(graph, 11)[0]!.value as Uint8Array);
    const tensorType = decodeFields(fieldsOf(decodeFields(fieldsOf(input, 2)[0]!.value as Uint8Array), 1)[0]!.value as Uint8Array);
    const dims = fieldsOf(decodeFields(fieldsOf(tensorType, 2)[0]!.value as Uint8Array), 1).map((d) => decodeFields(d.value as Uint8Array)[0]!);
    expect(dims[0]!.field).toBe(2);
    expect(text(dims[0])).toBe('batch');
    expect(dims[1]!.value).toBe(3n);
    // Attributes: AttributeProto name(1), i(3)/f(2)/ints(8), type(20).
    const nodes = fieldsOf(graph, 1).map((f) => decodeFields(f.value as Uint8Array));
    const attr = (n: number) => decodeFields(fieldsOf(nodes[n]!, 5)[0]!.value as Uint8Array);
    expect(int64(fieldsOf(attr(1), 3)[0])).toBe(-1n);
    expect(fieldsOf(attr(1), 20)[0]!.value).toBe(2n); // INT
    const f = fieldsOf(attr(2), 2)[0]!.value as Uint8Array;
    expect(new DataView(f.buffer, f.byteOffset).getFloat32(0, true)).toBe(1);
    expect(fieldsOf(attr(2), 20)[0]!.value).toBe(1n); // FLOAT, although the value is integral
    expect(fieldsOf(attr(3), 8).map((x) => x.value)).toEqual([1n, 0n]);
    expect(fieldsOf(attr(3), 20)[0]!.value).toBe(7n); // INTS
  });

  it('encodeModelProto writes metadata and doc strings', () => {
    const bytes = encodeModelProto({
      irVersion: 8,
      opsetImports: [{ domain: '', version: 17 }],
      docString: 'doc',
      metadata: { k: 'v' },
      graph: { name: 'g', nodes: [], initializers: [], inputs: [], outputs: [] },
    });
    const fields = decodeFields(bytes);
    expect(text(fieldsOf(fields, 6)[0])).toBe('doc');
    const entry = decodeFields(fieldsOf(fields, 14)[0]!.value as Uint8Array);
    expect([text(fieldsOf(entry, 1)[0]), text(fieldsOf(entry, 2)[0])]).toEqual(['k', 'v']);
  });
});
