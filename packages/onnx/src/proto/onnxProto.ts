/**
 * Plain-data mirrors of the subset of `onnx.proto` that FlowSeg writes (field names in
 * camelCase; field numbers live in {@link encodeModelProto}'s encoders). Only what an
 * inference graph with in-file weights needs: no sparse tensors, external data, functions or
 * training info.
 */

/** `TensorProto.DataType` codes of the element types FlowSeg reads and writes. */
export const ONNX_DATA_TYPES = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const;

/** Element types FlowSeg can put in an ONNX graph (names follow TF.js / typed arrays). */
export type OnnxElementType = keyof typeof ONNX_DATA_TYPES;

/** Every {@link OnnxElementType}. */
export const ONNX_ELEMENT_TYPES = Object.keys(ONNX_DATA_TYPES) as readonly OnnxElementType[];

/** Bytes per element of each {@link OnnxElementType} in `raw_data`. */
export const ONNX_BYTES_PER_ELEMENT: Readonly<Record<OnnxElementType, number>> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float64: 8,
};

/** `AttributeProto.AttributeType` codes. */
export const ONNX_ATTRIBUTE_TYPES = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  floats: 6,
  ints: 7,
  strings: 8,
} as const;

/** Kinds of attribute values FlowSeg writes. */
export type OnnxAttributeKind = keyof typeof ONNX_ATTRIBUTE_TYPES;

/** A tensor with its data as little-endian `raw_data` (`TensorProto`). */
export interface OnnxTensorProto {
  /** Value name (initializers: the name nodes refer to). */
  readonly name: string;
  /** Element type. */
  readonly dataType: OnnxElementType;
  /** Shape; `[]` for a scalar. */
  readonly dims: readonly number[];
  /** Row-major element bytes, little-endian (bool: one byte per element). */
  readonly rawData: Uint8Array;
  /** Human-readable description. */
  readonly docString?: string;
}

/** One axis of a declared shape: a fixed size or a symbolic name such as `'batch'`. */
export type OnnxDim = number | string;

/** A graph input, output or intermediate value's name and tensor type (`ValueInfoProto`). */
export interface OnnxValueInfoProto {
  /** Value name. */
  readonly name: string;
  /** Element type. */
  readonly elemType: OnnxElementType;
  /** Shape; omitted (`undefined`) when not even the rank is declared. */
  readonly shape?: readonly OnnxDim[];
  /** Human-readable description. */
  readonly docString?: string;
}

/** A node attribute (`AttributeProto`); exactly the field matching `kind` is used. */
export type OnnxAttributeProto =
  | { readonly name: string; readonly kind: 'float'; readonly value: number }
  | { readonly name: string; readonly kind: 'int'; readonly value: number | bigint }
  | { readonly name: string; readonly kind: 'string'; readonly value: string }
  | { readonly name: string; readonly kind: 'tensor'; readonly value: OnnxTensorProto }
  | { readonly name: string; readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly name: string; readonly kind: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly name: string; readonly kind: 'strings'; readonly value: readonly string[] };

/** One operator application (`NodeProto`). */
export interface OnnxNodeProto {
  /** Input value names in operator order; `''` skips an optional input. */
  readonly inputs: readonly string[];
  /** Output value names. */
  readonly outputs: readonly string[];
  /** Node name (unique in the graph). */
  readonly name?: string;
  /** Operator, e.g. `MatMul`. */
  readonly opType: string;
  /** Operator-set domain; `''`/omitted = the default ONNX domain. */
  readonly domain?: string;
  /** Attributes. */
  readonly attributes: readonly OnnxAttributeProto[];
  /** Human-readable description. */
  readonly docString?: string;
}

/** A computation graph (`GraphProto`); `nodes` are topologically sorted. */
export interface OnnxGraphProto {
  /** Graph name. */
  readonly name: string;
  /** Nodes, each after the nodes producing its inputs. */
  readonly nodes: readonly OnnxNodeProto[];
  /** Constant tensors (weights). */
  readonly initializers: readonly OnnxTensorProto[];
  /** Runtime inputs. */
  readonly inputs: readonly OnnxValueInfoProto[];
  /** Outputs. */
  readonly outputs: readonly OnnxValueInfoProto[];
  /** Human-readable description. */
  readonly docString?: string;
}

/** An operator set the model uses (`OperatorSetIdProto`). */
export interface OnnxOpsetIdProto {
  /** Domain; `''` = the default ONNX domain. */
  readonly domain: string;
  /** Operator-set version. */
  readonly version: number;
}

/** A whole model file (`ModelProto`). */
export interface OnnxModelProto {
  /** IR version (8 pairs with opset 17). */
  readonly irVersion: number;
  /** Operator sets imported. */
  readonly opsetImports: readonly OnnxOpsetIdProto[];
  /** Tool that wrote the model. */
  readonly producerName?: string;
  /** Version of that tool. */
  readonly producerVersion?: string;
  /** Reverse-DNS model namespace. */
  readonly domain?: string;
  /** Version of this model. */
  readonly modelVersion?: number;
  /** Human-readable description. */
  readonly docString?: string;
  /** The graph. */
  readonly graph: OnnxGraphProto;
  /** Key/value metadata (`metadata_props`). */
  readonly metadata?: Readonly<Record<string, string>>;
}
