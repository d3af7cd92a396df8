import type * as tf from '@tensorflow/tfjs';
import type { OnnxLayerSignature, OnnxPortValues } from './ports.js';
import type { OnnxExportContext } from './OnnxExportContext.js';

/**
 * Turns one kind of layer into ONNX nodes.
 *
 * `signature` describes the layer's inputs and outputs (sized from its config); `emit`
 * appends the nodes computing the outputs from `inputs` (port → value name; only given
 * ports are present) to `context.builder` and returns port → value name for every output
 * it produced. Weights are read by their stable names with {@link OnnxExportContext.weight};
 * child layers are exported with {@link OnnxExportContext.emit}.
 */
export interface OnnxLayerExporter<L extends tf.layers.Layer> {
  /** The layer's ONNX inputs and outputs. */
  signature(layer: L): OnnxLayerSignature;
  /** Append the layer's nodes; returns output port → value name. */
  emit(layer: L, inputs: OnnxPortValues, context: OnnxExportContext): OnnxPortValues;
}

/** A layer class (constructor), used as the registry key. */
export type LayerClass<L extends tf.layers.Layer> = abstract new (...args: never[]) => L;

const exporters = new Map<object, OnnxLayerExporter<tf.layers.Layer>>();

/**
 * Register how instances of `layerClass` (and of its subclasses without their own
 * exporter) are exported. Registering a class again replaces its exporter; the previous one
 * is returned. Packages call this at import time for their layers.
 *
 * @example
 * ```ts
 * registerOnnxExporter(MyGate, {
 *   signature: (l) => ({ inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', l.dim] }], outputs: [{ name: 'output', dtype: 'float32' }] }),
 *   emit: (l, { x }, ctx) => ({ output: ctx.op('Sigmoid', [ctx.linear(l, 'proj', x!)]) }),
 * });
 * ```
 */
export function registerOnnxExporter<L extends tf.layers.Layer>(
  layerClass: LayerClass<L>,
  exporter: OnnxLayerExporter<L>,
): OnnxLayerExporter<L> | undefined {
  const previous = exporters.get(layerClass) as OnnxLayerExporter<L> | undefined;
  exporters.set(layerClass, exporter as unknown as OnnxLayerExporter<tf.layers.Layer>);
  return previous;
}

/** Remove the exporter registered for exactly `layerClass`; returns whether there was one. */
export function unregisterOnnxExporter<L extends tf.layers.Layer>(layerClass: LayerClass<L>): boolean {
  return exporters.delete(layerClass);
}

/** The exporter for `layer`: its class's, else the nearest registered base class's. */
export function findOnnxExporter<L extends tf.layers.Layer>(layer: L): OnnxLayerExporter<L> | undefined {
  for (let proto: object | null = Object.getPrototypeOf(layer); proto; proto = Object.getPrototypeOf(proto)) {
    const found = exporters.get((proto as { constructor: object }).constructor);
    if (found) return found as unknown as OnnxLayerExporter<L>;
  }
  return undefined;
}
