import * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors/FlowSegError.js';
import type { FlowSegLayer } from '../layers/FlowSegLayer.js';
import { namedTensorEntries, type NamedTensors } from './serializeSafetensors.js';

/** Options of {@link setLayerWeights}. */
export interface SetLayerWeightsOptions {
  /**
   * When true (default), every weight of the layer must be given and nothing else may be.
   * When false, missing weights keep their values and unexpected names are ignored (both
   * are reported); shape and dtype mismatches are errors either way.
   */
  readonly strict?: boolean;
}

/** What {@link setLayerWeights} did. */
export interface SetLayerWeightsResult {
  /** Names assigned, in the layer's order. */
  readonly loaded: readonly string[];
  /** Layer weights not present in the given map (non-strict only; kept unchanged). */
  readonly missing: readonly string[];
  /** Given names the layer does not have (non-strict only; ignored). */
  readonly unexpected: readonly string[];
}

/**
 * The given weights do not fit the layer. Lists every offending name; nothing was assigned.
 */
export class WeightsMismatchError extends WeightsError {
  /**
   * @param layerName - the layer being loaded.
   * @param missing - layer weights absent from the map.
   * @param unexpected - map entries the layer does not have.
   * @param mismatched - entries whose shape or dtype differs (or that were disposed), with details.
   */
  constructor(
    layerName: string,
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    readonly mismatched: readonly string[],
  ) {
    const lines = [
      ...missing.map((n) => `  missing: ${n}`),
      ...unexpected.map((n) => `  unexpected: ${n}`),
      ...mismatched.map((d) => `  ${d}`),
    ];
    super(
      `setLayerWeights(${layerName}): ${lines.length} problem(s), no weight was loaded:\n${lines.join('\n')}`,
      'weights',
    );
  }
}

/**
 * Snapshot of every weight of `layer` (and its children) under its dotted, structure-derived
 * name ({@link FlowSegLayer.namedWeights}). The tensors are copies: later training does not
 * change them. The caller owns and disposes them.
 */
export function getLayerWeights(layer: FlowSegLayer): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, variable] of layer.namedWeights()) out.set(name, tf.clone(variable.read()));
  return out;
}

/**
 * Assign weights to `layer` by name (as produced by {@link getLayerWeights} or a
 * safetensors file). Everything is checked first — missing and unexpected names (strict
 * mode), shape and dtype of each match — and only when all is well are the variables
 * assigned, so a failure loads nothing. The variables share the given tensors' data; the
 * caller may dispose its tensors afterwards.
 *
 * @throws WeightsMismatchError listing every offending name.
 */
export function setLayerWeights(
  layer: FlowSegLayer,
  weights: NamedTensors,
  options: SetLayerWeightsOptions = {},
): SetLayerWeightsResult {
  const strict = options.strict ?? true;
  const expected = layer.namedWeights();
  const given = new Map(namedTensorEntries(weights));
  const missing = [...expected.keys()].filter((n) => !given.has(n));
  const unexpected = [...given.keys()].filter((n) => !expected.has(n));
  const mismatched: string[] = [];
  const assignments: [string, tf.LayerVariable, tf.Tensor][] = [];
  for (const [name, variable] of expected) {
    const tensor = given.get(name);
    if (!tensor) continue;
    const shape = variable.shape as number[]; // parameters have fully known shapes
    if (tensor.isDisposed) {
      mismatched.push(`disposed: ${name}`);
    } else if (!tf.util.arraysEqual(tensor.shape, shape)) {
      mismatched.push(`shape mismatch: ${name} expected [${shape.join(', ')}], received [${tensor.shape.join(', ')}]`);
    } else if (tensor.dtype !== variable.dtype) {
      mismatched.push(`dtype mismatch: ${name} expected ${variable.dtype}, received ${tensor.dtype}`);
    } else {
      assignments.push([name, variable, tensor]);
    }
  }
  if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
    throw new WeightsMismatchError(layer.name, strict ? missing : [], strict ? unexpected : [], mismatched);
  }
  for (const [, variable, tensor] of assignments) variable.write(tensor);
  return { loaded: assignments.map(([name]) => name), missing, unexpected };
}
