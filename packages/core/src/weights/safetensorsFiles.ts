import type * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { WeightsError } from '../errors/FlowSegError.js';
import type { FlowSegLayer } from '../layers/FlowSegLayer.js';
import { parseSafetensors, type SafetensorsFile } from './parseSafetensors.js';
import { serializeSafetensors, type NamedTensors } from './serializeSafetensors.js';
import { getLayerWeights, setLayerWeights, type SetLayerWeightsOptions, type SetLayerWeightsResult } from './layerWeights.js';
import { writeFileAtomic } from './writeFileAtomic.js';

function fileError(action: string, path: string, e: unknown): WeightsError {
  if (e instanceof WeightsError) {
    const wrapped = new WeightsError(`${path}: ${e.message}`, e.argument);
    wrapped.cause = e;
    return wrapped;
  }
  const wrapped = new WeightsError(`could not ${action} ${path}: ${(e as Error).message}`, 'path');
  wrapped.cause = e;
  return wrapped;
}

/**
 * Read and validate a safetensors file without decoding any tensor yet (Node only).
 * @throws WeightsError when the file cannot be read or is not a valid safetensors file.
 */
export async function openSafetensorsFile(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw fileError('read', path, e);
  }
  try {
    return parseSafetensors(bytes);
  } catch (e) {
    throw fileError('parse', path, e);
  }
}

/**
 * Load every tensor of a safetensors file (Node only), like `readSafetensors` from `@flowseg/core`.
 * A corrupt or truncated file throws a {@link WeightsError} and creates no tensor.
 * The caller owns the returned tensors.
 */
export async function loadSafetensorsFile(path: string): Promise<Map<string, tf.Tensor>> {
  const file = await openSafetensorsFile(path);
  try {
    return file.tensors();
  } catch (e) {
    throw fileError('decode', path, e);
  }
}

/**
 * Save tensors as a safetensors file (Node only), atomically: the file is serialized in
 * memory first (any {@link WeightsError} leaves the disk untouched), then written to a
 * temporary file in the same folder, flushed and renamed over `path`.
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: NamedTensors,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw fileError('write', path, e);
  }
}

/** Save all weights of `layer` under their {@link FlowSegLayer.namedWeights} names (Node only, atomic). */
export async function saveLayerWeightsFile(
  path: string,
  layer: FlowSegLayer,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const weights = getLayerWeights(layer);
  try {
    await saveSafetensorsFile(path, weights, metadata);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/**
 * Load a safetensors file into `layer` by weight name (Node only); see {@link setLayerWeights}
 * for the all-or-nothing checks. Tensors read from the file are released afterwards.
 */
export async function loadLayerWeightsFile(
  path: string,
  layer: FlowSegLayer,
  options: SetLayerWeightsOptions = {},
): Promise<SetLayerWeightsResult> {
  const weights = await loadSafetensorsFile(path);
  try {
    return setLayerWeights(layer, weights, options);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}
