import * as tf from '@tensorflow/tfjs';
import { DTypeError, ValueError } from '@flowseg/core';
import {
  ONNX_DATA_TYPES,
  ONNX_ELEMENT_TYPES,
  type OnnxDim,
  type OnnxElementType,
  type OnnxModelProto,
  type OnnxNodeProto,
  type OnnxOpsetIdProto,
  type OnnxTensorProto,
  type OnnxValueInfoProto,
} from '../proto/onnxProto.js';
import { encodeModelProto } from '../proto/encodeOnnx.js';
import { attributeProtoOf, tensorProtoOf, type OnnxAttributeValue } from './attributes.js';
import { checkStaticDims, typedTensorFromTf, type OnnxTypedArray, type OnnxTypedTensor } from './tensorData.js';
import { inferOutputDType } from './inferDType.js';

/** Default operator-set version of the ONNX domain (LayerNormalization needs ≥ 17). */
export const DEFAULT_OPSET_VERSION = 17;
/** Default IR version (IR 8 is the one paired with opset 17). */
export const DEFAULT_IR_VERSION = 8;

/** Options of {@link OnnxGraphBuilder}. */
export interface OnnxGraphBuilderOptions {
  /** Graph name (default `'flowseg'`). */
  readonly name?: string;
  /** Version of the default ONNX operator set (default {@link DEFAULT_OPSET_VERSION}). */
  readonly opsetVersion?: number;
  /** Further operator sets, e.g. `{ domain: 'com.microsoft', version: 1 }`. */
  readonly extraOpsets?: readonly OnnxOpsetIdProto[];
  /** Description stored in the graph. */
  readonly docString?: string;
}

/** Model-level fields for {@link OnnxGraphBuilder.toModelProto}. */
export interface OnnxModelOptions {
  /** IR version (default {@link DEFAULT_IR_VERSION}). */
  readonly irVersion?: number;
  /** Tool name (default `'@flowseg/onnx'`). */
  readonly producerName?: string;
  /** Tool version. */
  readonly producerVersion?: string;
  /** Model description. */
  readonly docString?: string;
  /** Key/value metadata stored in the model. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Options of {@link OnnxGraphBuilder.addNode}. */
export interface OnnxNodeOptions {
  /** Node name (default: derived from the first output, made unique). */
  readonly name?: string;
  /** Operator-set domain (default: the ONNX domain). */
  readonly domain?: string;
  /** Element types of the outputs when they cannot be inferred (custom ops). */
  readonly outputDTypes?: readonly OnnxElementType[];
}

const DTYPE_OF_CODE = new Map<number, OnnxElementType>(
  Object.entries(ONNX_DATA_TYPES).map(([k, v]) => [v, k as OnnxElementType]),
);

function checkName(name: unknown, argument: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValueError(`${argument}: expected a non-empty string, received ${JSON.stringify(name)}`, argument);
  }
}

function checkDType(dtype: unknown, argument: string): asserts dtype is OnnxElementType {
  if (!ONNX_ELEMENT_TYPES.includes(dtype as OnnxElementType)) {
    throw new DTypeError(argument, ONNX_ELEMENT_TYPES, String(dtype));
  }
}

/** Throws a {@link ValueError} unless every axis is a non-negative integer or a non-empty name. */
export function checkDims(dims: readonly OnnxDim[], argument: string): void {
  const ok =
    Array.isArray(dims) &&
    dims.every((d) => (typeof d === 'number' ? Number.isSafeInteger(d) && d >= 0 : typeof d === 'string' && d.length > 0));
  if (!ok) {
    throw new ValueError(
      `${argument}: expected axis sizes (non-negative integers) or symbolic names (non-empty strings), received ${JSON.stringify(dims)}`,
      argument,
    );
  }
}

/**
 * Builds one ONNX graph: inputs, initializers (weights), nodes in topological order and
 * outputs, then serializes it as a model (`ir_version` 8, opset 17 by default).
 *
 * Every value name is checked as it is used: a node may read only values defined before it
 * (inputs, initializers, earlier nodes' outputs) and every value is defined once, so a
 * finished builder always holds a well-formed graph. {@link OnnxGraphBuilder.uniqueName}
 * reserves fresh names for generated values.
 *
 * @example
 * ```ts
 * const g = new OnnxGraphBuilder();
 * g.addInput('x', 'float32', ['batch', 4]);
 * g.addInitializer('w', new Float32Array(12), [4, 3]);
 * const y = g.op('MatMul', ['x', 'w']);
 * g.addOutput(y, 'float32', ['batch', 3]);
 * const bytes = g.serialize();
 * ```
 */
export class OnnxGraphBuilder {
  /** Graph name. */
  readonly name: string;
  /** Version of the default ONNX operator set. */
  readonly opsetVersion: number;
  private readonly extraOpsets: readonly OnnxOpsetIdProto[];
  private readonly docString: string | undefined;
  private readonly nodes: OnnxNodeProto[] = [];
  private readonly initializers: OnnxTensorProto[] = [];
  private readonly inputs: OnnxValueInfoProto[] = [];
  private readonly outputs: OnnxValueInfoProto[] = [];
  /** Defined values and their element types (undefined = unknown). */
  private readonly defined = new Map<string, OnnxElementType | undefined>();
  private readonly reserved = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(options: OnnxGraphBuilderOptions = {}) {
    this.name = options.name ?? 'flowseg';
    checkName(this.name, 'name');
    const opset = options.opsetVersion ?? DEFAULT_OPSET_VERSION;
    if (!Number.isInteger(opset) || opset < 1) {
      throw new ValueError(`opsetVersion: expected a positive integer, received ${opset}`, 'opsetVersion');
    }
    this.opsetVersion = opset;
    this.extraOpsets = [...(options.extraOpsets ?? [])];
    this.docString = options.docString;
  }

  /** Whether `name` is a defined value (input, initializer or node output). */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  /** Element type of a defined value, when known. */
  dtypeOf(name: string): OnnxElementType | undefined {
    return this.defined.get(name);
  }

  /**
   * Declared shape of a graph input or initializer (numbers = fixed axes, strings =
   * symbolic); `undefined` for node outputs, whose shapes the builder does not track.
   */
  dimsOf(name: string): readonly OnnxDim[] | undefined {
    return this.inputs.find((i) => i.name === name)?.shape ?? this.initializers.find((t) => t.name === name)?.dims;
  }

  /** Graph input names, in declaration order. */
  get inputNames(): readonly string[] {
    return this.inputs.map((i) => i.name);
  }

  /** Graph output names, in declaration order. */
  get outputNames(): readonly string[] {
    return this.outputs.map((o) => o.name);
  }

  /**
   * Drop the nodes no graph output depends on, then the initializers nothing reads (an
   * exporter may emit values, e.g. optional outputs, that the export does not expose).
   * Graph inputs stay. Returns how many nodes were removed.
   */
  pruneUnused(): number {
    const needed = new Set(this.outputs.map((o) => o.name));
    const kept: OnnxNodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      if (node.outputs.some((o) => needed.has(o))) {
        kept.push(node);
        for (const input of node.inputs) if (input !== '') needed.add(input);
      }
    }
    const removed = this.nodes.length - kept.length;
    kept.reverse();
    this.nodes.splice(0, this.nodes.length, ...kept);
    const unusedInitializers = this.initializers.filter((t) => !needed.has(t.name));
    if (unusedInitializers.length > 0) {
      const keep = this.initializers.filter((t) => needed.has(t.name));
      this.initializers.splice(0, this.initializers.length, ...keep);
    }
    return removed;
  }

  /**
   * A value name not used yet, reserved for the caller: `hint` itself when free, else
   * `hint_1`, `hint_2`, … Reserved names may be defined later (as node outputs, inputs,
   * initializers) exactly once.
   */
  uniqueName(hint: string): string {
    checkName(hint, 'hint');
    let name = hint;
    for (let i = 1; this.defined.has(name) || this.reserved.has(name); i++) name = `${hint}_${i}`;
    this.reserved.add(name);
    return name;
  }

  private define(name: string, dtype: OnnxElementType | undefined, argument: string): void {
    checkName(name, argument);
    if (this.defined.has(name)) {
      throw new ValueError(`${argument}: value "${name}" is already defined in this graph`, argument);
    }
    this.defined.set(name, dtype);
    this.reserved.add(name);
  }

  /** Declare a runtime input; symbolic axes (`'batch'`) are sized when the model runs. */
  addInput(name: string, dtype: OnnxElementType, dims: readonly OnnxDim[]): string {
    checkDType(dtype, 'dtype');
    checkDims(dims, 'dims');
    this.define(name, dtype, 'name');
    this.inputs.push({ name, elemType: dtype, shape: [...dims] });
    return name;
  }

  /**
   * Add a constant tensor (a weight) under `name`: from a TF.js tensor (read synchronously),
   * a {@link OnnxTypedTensor}, or a typed array with its shape (`Float32Array` → float32,
   * `Int32Array` → int32, `BigInt64Array` → int64, `Uint8Array` → uint8, …).
   */
  addInitializer(name: string, value: tf.Tensor | OnnxTypedTensor): string;
  addInitializer(name: string, data: OnnxTypedArray, dims: readonly number[]): string;
  addInitializer(name: string, value: tf.Tensor | OnnxTypedTensor | OnnxTypedArray, dims?: readonly number[]): string {
    checkName(name, 'name');
    const typed = toTypedTensor(value, dims, name);
    const proto = tensorProtoOf(name, typed);
    this.define(name, typed.dtype, 'name');
    this.initializers.push(proto);
    return name;
  }

  /**
   * A constant initializer named after `hint` (made unique); identical small constants
   * (≤ 64 elements, same type, shape and values) are stored once and shared.
   */
  addConstant(hint: string, data: OnnxTypedArray, dims: readonly number[], dtype?: OnnxElementType): string {
    const typed = toTypedTensor(dtype ? { dtype, dims, data } : data, dtype ? undefined : dims, hint);
    const small = typed.data.length <= 64;
    const key = small
      ? `${typed.dtype}|${typed.dims.join(',')}|${Array.from(typed.data as ArrayLike<number | bigint>, String).join(',')}`
      : '';
    const existing = small ? this.constants.get(key) : undefined;
    if (existing) return existing;
    const name = this.uniqueName(hint);
    this.addInitializer(name, typed);
    if (small) this.constants.set(key, name);
    return name;
  }

  /**
   * Append a node. `inputs` must be defined values (or `''` for an omitted optional input);
   * `outputs` must be new names. Returns `outputs`.
   */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, OnnxAttributeValue>> = {},
    options: OnnxNodeOptions = {},
  ): readonly string[] {
    checkName(opType, 'opType');
    if (outputs.length === 0) throw new ValueError(`${opType}: a node needs at least one output`, 'outputs');
    inputs.forEach((i) => {
      if (i !== '' && !this.defined.has(i)) {
        throw new ValueError(`${opType}: input "${i}" is not defined before this node`, 'inputs');
      }
    });
    const attrs = Object.entries(attributes).map(([k, v]) => attributeProtoOf(k, v));
    const inputTypes = inputs.map((i) => this.defined.get(i));
    const castTo = opType === 'Cast' ? castTarget(attributes['to']) : undefined;
    const first = options.domain ? undefined : inferOutputDType(opType, inputTypes, castTo);
    const seen = new Set<string>();
    for (const o of outputs) {
      checkName(o, 'outputs');
      if (seen.has(o) || this.defined.has(o)) {
        throw new ValueError(`${opType}: output "${o}" is already defined in this graph`, 'outputs');
      }
      seen.add(o);
    }
    outputs.forEach((o, i) => this.define(o, options.outputDTypes?.[i] ?? (i === 0 ? first : undefined), 'outputs'));
    let nodeName = options.name ?? outputs[0]!;
    if (this.nodeNames.has(nodeName)) {
      let i = 1;
      while (this.nodeNames.has(`${nodeName}_${i}`)) i++;
      nodeName = `${nodeName}_${i}`;
    }
    this.nodeNames.add(nodeName);
    this.nodes.push({
      inputs: [...inputs],
      outputs: [...outputs],
      name: nodeName,
      opType,
      attributes: attrs,
      ...(options.domain ? { domain: options.domain } : {}),
    });
    return outputs;
  }

  /** Append a single-output node whose output gets a fresh name from `hint` (default: the op type). Returns that name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, OnnxAttributeValue>> = {},
    hint?: string,
  ): string {
    const out = this.uniqueName(hint ?? opType.toLowerCase());
    this.addNode(opType, inputs, [out], attributes);
    return out;
  }

  /** Declare a defined value as a graph output; `dtype` defaults to its known type. */
  addOutput(name: string, dtype?: OnnxElementType, dims?: readonly OnnxDim[]): string {
    checkName(name, 'name');
    if (!this.defined.has(name)) throw new ValueError(`output "${name}" is not a defined value`, 'name');
    if (this.outputs.some((o) => o.name === name)) throw new ValueError(`output "${name}" is already an output`, 'name');
    const elemType = dtype ?? this.defined.get(name);
    if (elemType === undefined) {
      throw new ValueError(`output "${name}": its element type is unknown, pass dtype`, 'dtype');
    }
    checkDType(elemType, 'dtype');
    if (dims) checkDims(dims, 'dims');
    this.outputs.push({ name, elemType, ...(dims ? { shape: [...dims] } : {}) });
    return name;
  }

  /** The model as plain data (see {@link OnnxModelProto}). */
  toModelProto(options: OnnxModelOptions = {}): OnnxModelProto {
    if (this.outputs.length === 0) throw new ValueError('the graph has no outputs; call addOutput first', 'outputs');
    return {
      irVersion: options.irVersion ?? DEFAULT_IR_VERSION,
      opsetImports: [{ domain: '', version: this.opsetVersion }, ...this.extraOpsets],
      producerName: options.producerName ?? '@flowseg/onnx',
      ...(options.producerVersion ? { producerVersion: options.producerVersion } : {}),
      ...(options.docString ? { docString: options.docString } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
      graph: {
        name: this.name,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: this.inputs,
        outputs: this.outputs,
        ...(this.docString ? { docString: this.docString } : {}),
      },
    };
  }

  /** The serialized `.onnx` bytes. */
  serialize(options: OnnxModelOptions = {}): Uint8Array {
    return encodeModelProto(this.toModelProto(options));
  }
}

function castTarget(to: OnnxAttributeValue | undefined): OnnxElementType | undefined {
  if (typeof to === 'number') return DTYPE_OF_CODE.get(to);
  if (to && typeof to === 'object' && 'kind' in to && to.kind === 'int') return DTYPE_OF_CODE.get(Number(to.value));
  return undefined;
}

const ARRAY_DTYPE: ReadonlyArray<[new (n: number) => OnnxTypedArray, OnnxElementType]> = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'],
  [Int8Array, 'int8'],
];

function toTypedTensor(
  value: tf.Tensor | OnnxTypedTensor | OnnxTypedArray,
  dims: readonly number[] | undefined,
  argument: string,
): OnnxTypedTensor {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) throw new ValueError(`${argument}: the tensor is disposed`, argument);
    return typedTensorFromTf(value, argument);
  }
  if (ArrayBuffer.isView(value)) {
    if (!dims) throw new ValueError(`${argument}: a typed array needs its dims`, 'dims');
    checkStaticDims(dims, 'dims');
    const dtype = ARRAY_DTYPE.find(([ctor]) => value instanceof ctor)?.[1];
    if (!dtype) throw new DTypeError(argument, ARRAY_DTYPE.map(([c]) => c.name), value.constructor.name);
    return { dtype, dims: [...dims], data: value };
  }
  return value;
}
