/**
 * Node-only helpers of `@flowseg/onnx` (`@flowseg/onnx/node`): writing `.onnx` files, kept
 * out of the main entry so browser bundles never pull in `node:fs`.
 * @packageDocumentation
 * @module @flowseg/onnx/node
 */
import type * as tf from '@tensorflow/tfjs';
import { ValueError } from '@flowseg/core';
import { writeFileAtomic } from '@flowseg/core/node';
import { exportOnnx, type ExportOnnxOptions } from '../export/exportOnnx.js';

/**
 * Write `.onnx` bytes to `path` atomically (temporary file, fsync, rename): readers see the
 * old file or the complete new one, never a partial model.
 */
export async function writeOnnxFile(path: string, model: Uint8Array): Promise<void> {
  if (!(model instanceof Uint8Array) || model.length === 0) {
    throw new ValueError('model: expected non-empty ONNX bytes (Uint8Array)', 'model');
  }
  await writeFileAtomic(path, model);
}

/** {@link exportOnnx} a layer and write the model to `path` atomically; returns the bytes. */
export async function exportOnnxFile(path: string, layer: tf.layers.Layer, options: ExportOnnxOptions = {}): Promise<Uint8Array> {
  const bytes = exportOnnx(layer, options);
  await writeOnnxFile(path, bytes);
  return bytes;
}
