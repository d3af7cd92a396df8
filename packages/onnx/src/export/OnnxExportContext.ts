import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, ValueError } from '@flowseg/core';
import type { OnnxGraphBuilder } from '../graph/OnnxGraphBuilder.js';
import type { OnnxAttributeValue } from '../graph/attributes.js';
import type { OnnxDim, OnnxElementType } from '../proto/onnxProto.js';
import { findOnnxExporter } from './registry.js';
import type { OnnxPortValues } from './ports.js';

/**
 * What an exporter works with while it appends a layer's nodes: the graph builder, the
 * layer's weights as initializers named by their stable dotted paths (the checkpoint
 * names: `multihead_attn.q_proj.kernel`), a naming scope per layer, and dispatch to the
 * exporters of child layers.
 */
export class OnnxExportContext {
  /** The graph being built. */
  readonly builder: OnnxGraphBuilder;
  private readonly paths = new Map<tf.LayerVariable, string>();
  private readonly added = new Map<tf.LayerVariable, string>();
  private readonly scopes: string[] = [];

  /**
   * @param builder - graph to append to.
   * @param root - the exported layer; its `namedWeights()` name the initializers.
   */
  constructor(builder: OnnxGraphBuilder, root: tf.layers.Layer) {
    this.builder = builder;
    if (root instanceof FlowSegLayer) {
      for (const [name, v] of root.namedWeights()) this.paths.set(v, name);
    }
  }

  /** Current naming scope (`'multihead_attn'`, `''` at the root). */
  get scope(): string {
    return this.scopes.join('/');
  }

  private scoped(hint: string): string {
    return this.scopes.length ? `${this.scope}/${hint}` : hint;
  }

  /**
   * The initializer holding `layer`'s weight `key` (a `namedWeights()` key such as
   * `'q_proj.kernel'`), added on first use. Its name is the weight's dotted path in the
   * exported layer, so ONNX initializers line up with safetensors checkpoints.
   */
  weight(layer: FlowSegLayer, key: string): string {
    const weights = layer.namedWeights();
    const v = weights.get(key);
    if (!v) {
      throw new ValueError(
        `${layer.getClassName()} "${layer.name}" has no weight "${key}" (it has: ${[...weights.keys()].join(', ')})`,
        'key',
      );
    }
    const existing = this.added.get(v);
    if (existing) return existing;
    const name = this.builder.uniqueName(this.paths.get(v) ?? `${layer.name}.${key}`);
    this.builder.addInitializer(name, v.read());
    this.added.set(v, name);
    return name;
  }

  /** Whether `layer` has a weight `key`. */
  hasWeight(layer: FlowSegLayer, key: string): boolean {
    return layer.namedWeights().has(key);
  }

  /** Run `fn` with node names inside naming scope `scope` (e.g. `'layers.0'`); returns its result. */
  withScope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Append a single-output node named within the current scope; returns the output name. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, OnnxAttributeValue>> = {}, hint?: string): string {
    return this.builder.op(opType, inputs, attributes, this.scoped(hint ?? opType.toLowerCase()));
  }

  /** A shared int64 constant (shapes, axes). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.builder.addConstant('const_i64', BigInt64Array.from(values, BigInt), dims);
  }

  /** A shared float32 scalar constant. */
  scalar(value: number): string {
    return this.builder.addConstant('const_f32', Float32Array.of(value), []);
  }

  /** Element type of a value, when known. */
  dtypeOf(value: string): OnnxElementType | undefined {
    return this.builder.dtypeOf(value);
  }

  /**
   * Declared shape of a graph input (numbers fixed, strings symbolic); `undefined` for
   * computed values. Exporters use it to bake shape-dependent constants (positional
   * encodings) when the export fixes those axes.
   */
  dimsOf(value: string): readonly OnnxDim[] | undefined {
    return this.builder.dimsOf(value);
  }

  /** A float32 constant of any size (positional encodings, masks), named within the current scope. */
  floatConstant(hint: string, data: Float32Array, dims: readonly number[]): string {
    return this.builder.addConstant(this.scoped(hint), data, dims);
  }

  /**
   * `x·W + b` over the last axis with `layer`'s weights `<prefix>.kernel` `[in, out]` and,
   * when present, `<prefix>.bias` (the layout of core's `Linear`). `prefix` `''`
   * reads `kernel`/`bias` of `layer` itself.
   */
  linear(layer: FlowSegLayer, prefix: string, x: string, hint = prefix || 'linear'): string {
    const key = (k: string) => (prefix ? `${prefix}.${k}` : k);
    const y = this.op('MatMul', [x, this.weight(layer, key('kernel'))], {}, `${hint}/matmul`);
    return this.hasWeight(layer, key('bias')) ? this.op('Add', [y, this.weight(layer, key('bias'))], {}, hint) : y;
  }

  /**
   * Export a child layer with its registered exporter, inside naming scope `scope` (e.g.
   * its child key). Checks that every required input is given and no unknown one is.
   */
  emit<L extends tf.layers.Layer>(layer: L, inputs: OnnxPortValues, scope: string): OnnxPortValues {
    const exporter = findOnnxExporter(layer);
    if (!exporter) throw noExporterError(layer);
    const signature = exporter.signature(layer);
    for (const name of Object.keys(inputs)) {
      if (!signature.inputs.some((p) => p.name === name)) {
        throw new ValueError(
          `${layer.getClassName()}: unknown ONNX input "${name}" (inputs: ${signature.inputs.map((p) => p.name).join(', ')})`,
          'inputs',
        );
      }
    }
    for (const p of signature.inputs) {
      if (!p.optional && inputs[p.name] === undefined) {
        throw new ValueError(`${layer.getClassName()}: ONNX input "${p.name}" is required`, 'inputs');
      }
    }
    this.scopes.push(scope);
    try {
      return exporter.emit(layer, inputs, this);
    } finally {
      this.scopes.pop();
    }
  }
}

/** The error for a layer without a registered exporter. */
export function noExporterError(layer: tf.layers.Layer): ValueError {
  return new ValueError(
    `no ONNX exporter is registered for ${layer.getClassName()} ("${layer.name}"); ` +
      'register one with registerOnnxExporter(LayerClass, exporter)',
    'layer',
  );
}
