import type { OnnxDim, OnnxElementType } from '../proto/onnxProto.js';

/** One input of a layer's ONNX signature. */
export interface OnnxInputPort {
  /** Port name, e.g. `'query'` (the graph input gets this name unless renamed). */
  readonly name: string;
  /** Accepted element types; the first is the default. */
  readonly dtypes: readonly OnnxElementType[];
  /**
   * Default declared shape: numbers are fixed by the layer's config (e.g. its channels),
   * strings are symbolic axes sized at run time (`'batch'`, `'queries'`).
   */
  readonly dims: readonly OnnxDim[];
  /** Whether the layer runs without it (e.g. a mask). */
  readonly optional?: boolean;
  /** Any rank ≥ 1 is accepted and only the last axis is checked (`[..., features]`); `dims` is the default shape. */
  readonly anyLeadingAxes?: boolean;
  /** What the port carries, with its axes. */
  readonly doc?: string;
}

/** One output of a layer's ONNX signature. */
export interface OnnxOutputPort {
  /** Port name, e.g. `'output'`. */
  readonly name: string;
  /** Element type. */
  readonly dtype: OnnxElementType;
  /** Emitted only when asked for (e.g. attention weights). */
  readonly optional?: boolean;
  /** What the port carries, with its axes. */
  readonly doc?: string;
}

/** The inputs and outputs an exporter offers for one layer instance. */
export interface OnnxLayerSignature {
  /** Inputs, required ones first by convention. */
  readonly inputs: readonly OnnxInputPort[];
  /** Outputs. */
  readonly outputs: readonly OnnxOutputPort[];
}

/** Port name → graph value name. A port absent from the record was not given. */
export type OnnxPortValues = Readonly<Record<string, string>>;
