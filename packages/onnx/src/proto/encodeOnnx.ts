import { ProtoWriter } from './ProtoWriter.js';
import {
  ONNX_ATTRIBUTE_TYPES,
  ONNX_DATA_TYPES,
  type OnnxAttributeProto,
  type OnnxGraphProto,
  type OnnxModelProto,
  type OnnxNodeProto,
  type OnnxOpsetIdProto,
  type OnnxTensorProto,
  type OnnxValueInfoProto,
} from './onnxProto.js';

// Field numbers below are those of onnx/onnx.proto; each message writes its fields in
// ascending field-number order, like protobuf's own serializers.

/** `TensorProto`: dims = 1, data_type = 2, name = 8, raw_data = 9, doc_string = 12. */
export function encodeTensorProto(t: OnnxTensorProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, ONNX_DATA_TYPES[t.dataType]);
  w.string(8, t.name);
  w.bytes(9, t.rawData);
  if (t.docString) w.string(12, t.docString);
  return w;
}

/**
 * `ValueInfoProto` (name = 1, type = 2, doc_string = 3) with its `TypeProto`
 * (tensor_type = 1 → elem_type = 1, shape = 2 → dim = 1 → dim_value = 1 | dim_param = 2).
 */
export function encodeValueInfoProto(v: OnnxValueInfoProto): ProtoWriter {
  const tensorType = new ProtoWriter().varint(1, ONNX_DATA_TYPES[v.elemType]);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.varint(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const w = new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
  if (v.docString) w.string(3, v.docString);
  return w;
}

/**
 * `AttributeProto`: name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8,
 * strings = 9, type = 20. Repeated scalars are written unpacked (onnx.proto is proto2 and
 * does not declare them packed; parsers accept either).
 */
export function encodeAttributeProto(a: OnnxAttributeProto): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  switch (a.kind) {
    case 'float':
      w.float32(2, a.value);
      break;
    case 'int':
      w.varint(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, encodeTensorProto(a.value));
      break;
    case 'floats':
      for (const f of a.value) w.float32(7, f);
      break;
    case 'ints':
      for (const i of a.value) w.varint(8, i);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      break;
  }
  return w.varint(20, ONNX_ATTRIBUTE_TYPES[a.kind]);
}

/** `NodeProto`: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, doc_string = 6, domain = 7. */
export function encodeNodeProto(n: OnnxNodeProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, encodeAttributeProto(a));
  if (n.docString) w.string(6, n.docString);
  if (n.domain) w.string(7, n.domain);
  return w;
}

/** `GraphProto`: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12. */
export function encodeGraphProto(g: OnnxGraphProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensorProto(t));
  if (g.docString) w.string(10, g.docString);
  for (const i of g.inputs) w.message(11, encodeValueInfoProto(i));
  for (const o of g.outputs) w.message(12, encodeValueInfoProto(o));
  return w;
}

/** `OperatorSetIdProto`: domain = 1, version = 2. */
export function encodeOpsetIdProto(o: OnnxOpsetIdProto): ProtoWriter {
  return new ProtoWriter().string(1, o.domain).varint(2, o.version);
}

/**
 * Serialize a model: `ModelProto` with ir_version = 1, producer_name = 2,
 * producer_version = 3, domain = 4, model_version = 5, doc_string = 6, graph = 7,
 * opset_import = 8, metadata_props = 14 (`StringStringEntryProto` key = 1, value = 2).
 */
export function encodeModelProto(m: OnnxModelProto): Uint8Array {
  const w = new ProtoWriter().varint(1, m.irVersion);
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.domain) w.string(4, m.domain);
  if (m.modelVersion !== undefined) w.varint(5, m.modelVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraphProto(m.graph));
  for (const o of m.opsetImports) w.message(8, encodeOpsetIdProto(o));
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    w.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return w.finish();
}
