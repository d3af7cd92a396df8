import type * as tf from '@tensorflow/tfjs';
import { DTypeError, ValueError } from '@flowseg/core';
import { OnnxGraphBuilder, checkDims, type OnnxModelOptions } from '../graph/OnnxGraphBuilder.js';
import type { OnnxDim, OnnxElementType } from '../proto/onnxProto.js';
import { OnnxExportContext, noExporterError } from './OnnxExportContext.js';
import { findOnnxExporter } from './registry.js';
import type { OnnxInputPort, OnnxLayerSignature } from './ports.js';

/** One graph input of an export: which port it feeds, and optionally its type, shape and name. */
export interface OnnxInputSpec {
  /** The layer's input port (see the exporter's signature, e.g. `'query'`, `'keyPaddingMask'`). */
  readonly name: string;
  /** Element type (default: the port's first accepted type). Masks: `'bool'` or `'float32'` (additive). */
  readonly dtype?: OnnxElementType;
  /**
   * Declared shape (default: the port's). Symbolic names (`'batch'`) stay dynamic; numbers
   * fix an axis. Axes the layer's config fixes (channels) must keep their size.
   */
  readonly dims?: readonly OnnxDim[];
  /** Name of the graph input (default: the port name). Ports given the same name share one input (same type and shape). */
  readonly graphName?: string;
}

/** One graph output of an export: the port it exposes and, optionally, the graph output's name. */
export interface OnnxOutputSpec {
  /** The layer's output port (e.g. `'output'`, `'weights'`). */
  readonly name: string;
  /** Name of the graph output (default: the port name, or `<name>_out` when a graph input has it). */
  readonly graphName?: string;
}

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions extends OnnxModelOptions {
  /**
   * Graph inputs, one per port to feed. Default: every required port with its default
   * shape. Optional ports (positions, masks) are present only when listed.
   */
  readonly inputs?: readonly (OnnxInputSpec | string)[];
  /**
   * Output ports to expose (default: every non-optional output), as graph outputs of the
   * same name, or of `graphName`. A port whose name is also a graph input's (a decoder
   * layer's `queries`) is exposed as `<name>_out` unless given a `graphName`.
   */
  readonly outputs?: readonly (OnnxOutputSpec | string)[];
  /** Graph name (default: the layer's name). */
  readonly graphName?: string;
  /** Version of the ONNX operator set (default 17, the minimum for LayerNormalization). */
  readonly opsetVersion?: number;
}

function resolveDims(port: OnnxInputPort, dims: readonly OnnxDim[] | undefined, where: string): readonly OnnxDim[] {
  if (!dims) return port.dims;
  checkDims(dims, `${where}.dims`);
  const expected = port.anyLeadingAxes ? `[..., ${String(port.dims.at(-1))}]` : `[${port.dims.join(', ')}]`;
  if (port.anyLeadingAxes ? dims.length < 1 : dims.length !== port.dims.length) {
    throw new ValueError(`${where}.dims: expected ${expected}, received [${dims.join(', ')}]`, `${where}.dims`);
  }
  // Right-aligned comparison: with leading axes free, only the last one can be fixed.
  const checked = port.anyLeadingAxes ? 1 : port.dims.length;
  for (let i = 1; i <= checked; i++) {
    const want = port.dims[port.dims.length - i]!;
    const got = dims[dims.length - i]!;
    if (typeof want === 'number' && got !== want) {
      throw new ValueError(
        `${where}.dims: axis ${dims.length - i} is fixed to ${want} by the layer's config, received ${String(got)} (expected ${expected})`,
        `${where}.dims`,
      );
    }
  }
  return dims;
}

/**
 * Build the ONNX graph of `layer` with its registered exporter and return the builder
 * (for inspection, or to add more before serializing). See {@link exportOnnx}.
 */
export function exportOnnxGraph(layer: tf.layers.Layer, options: ExportOnnxOptions = {}): OnnxGraphBuilder {
  const exporter = findOnnxExporter(layer);
  if (!exporter) throw noExporterError(layer);
  const signature: OnnxLayerSignature = exporter.signature(layer);
  const portNames = signature.inputs.map((p) => p.name).join(', ');
  const specs: OnnxInputSpec[] = (options.inputs ?? signature.inputs.filter((p) => !p.optional).map((p) => p.name)).map(
    (s) => (typeof s === 'string' ? { name: s } : s),
  );
  const builder = new OnnxGraphBuilder({
    name: options.graphName ?? layer.name,
    ...(options.opsetVersion === undefined ? {} : { opsetVersion: options.opsetVersion }),
  });
  const values: Record<string, string> = {};
  const declared = new Map<string, { dtype: OnnxElementType; dims: readonly OnnxDim[] }>();
  specs.forEach((spec, i) => {
    const where = `inputs[${i}]`;
    const port = signature.inputs.find((p) => p.name === spec?.name);
    if (!port) {
      throw new ValueError(
        `${where}: ${layer.getClassName()} has no input "${String(spec?.name)}" (inputs: ${portNames})`,
        `${where}.name`,
      );
    }
    if (values[port.name] !== undefined) throw new ValueError(`${where}: input "${port.name}" is listed twice`, `${where}.name`);
    const dtype = spec.dtype ?? port.dtypes[0]!;
    if (!port.dtypes.includes(dtype)) throw new DTypeError(`${where} (${port.name})`, port.dtypes, dtype);
    const dims = resolveDims(port, spec.dims, where);
    const graphName = spec.graphName ?? port.name;
    const shared = declared.get(graphName);
    if (shared) {
      // Several ports may read one graph input (self-attention: query = key = value).
      if (shared.dtype !== dtype || shared.dims.join() !== dims.join()) {
        throw new ValueError(
          `${where}: graph input "${graphName}" is already declared as ${shared.dtype} [${shared.dims.join(', ')}], ` +
            `this port needs ${dtype} [${dims.join(', ')}]`,
          `${where}.graphName`,
        );
      }
      values[port.name] = graphName;
      return;
    }
    values[port.name] = builder.addInput(graphName, dtype, dims);
    declared.set(graphName, { dtype, dims });
  });
  for (const p of signature.inputs) {
    if (!p.optional && values[p.name] === undefined) {
      throw new ValueError(`inputs: ${layer.getClassName()} needs input "${p.name}"`, 'inputs');
    }
  }
  const wanted: OnnxOutputSpec[] = (options.outputs ?? signature.outputs.filter((o) => !o.optional).map((o) => o.name)).map((o) =>
    typeof o === 'string' ? { name: o } : o,
  );
  if (wanted.length === 0) throw new ValueError('outputs: expected at least one output', 'outputs');
  const graphNames: string[] = [];
  for (const w of wanted) {
    if (!signature.outputs.some((o) => o.name === w?.name)) {
      throw new ValueError(
        `outputs: ${layer.getClassName()} has no output "${String(w?.name)}" (outputs: ${signature.outputs.map((o) => o.name).join(', ')})`,
        'outputs',
      );
    }
    const graphName = w.graphName ?? (declared.has(w.name) ? `${w.name}_out` : w.name);
    // Reserve the output names first so no internal value takes them.
    if (builder.uniqueName(graphName) !== graphName) {
      throw new ValueError(`outputs: "${graphName}" is already the name of a graph input or output`, 'outputs');
    }
    graphNames.push(graphName);
  }
  const context = new OnnxExportContext(builder, layer);
  const produced = exporter.emit(layer, values, context);
  wanted.forEach((w, i) => {
    const value = produced[w.name];
    if (value === undefined) throw new ValueError(`${layer.getClassName()}: its exporter did not produce output "${w.name}"`, 'outputs');
    // An Identity gives the graph output its name (runtimes elide it).
    builder.addNode('Identity', [value], [graphNames[i]!]);
    builder.addOutput(graphNames[i]!, signature.outputs.find((o) => o.name === w.name)!.dtype);
  });
  // Outputs the export does not expose (and the weights only they read) are dropped.
  builder.pruneUnused();
  return builder;
}

/**
 * Export `layer` (any layer with a registered exporter: core's `Linear`, `LayerNorm`,
 * `FeedForward`, `MultiHeadAttention`, the Mask2Former blocks, and what other packages
 * register) as ONNX model bytes (opset 17, IR 8), weights included as initializers named
 * by the layer's `namedWeights()` paths.
 *
 * @example
 * ```ts
 * const bytes = exportOnnx(mha, {
 *   inputs: ['query', 'key', 'value', { name: 'keyPaddingMask' }],
 * });
 * const session = await OnnxSession.create(bytes);
 * ```
 */
export function exportOnnx(layer: tf.layers.Layer, options: ExportOnnxOptions = {}): Uint8Array {
  return exportOnnxGraph(layer, options).serialize(options);
}
