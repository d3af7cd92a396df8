/**
 * Node-only helpers of `@flowseg/onnx` (`@flowseg/onnx/node`): writing `.onnx` files and
 * FlowSeg graph folders, kept out of the main entry so browser bundles never pull in `node:fs`.
 * @packageDocumentation
 * @module @flowseg/onnx/node
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { ValueError } from '@flowseg/core';
import { writeDirectoryAtomic, writeFileAtomic } from '@flowseg/core/node';
import { exportOnnx, type ExportOnnxOptions } from '../export/exportOnnx.js';
import { FLOWSEG_ONNX_GRAPHS, type FlowSegOnnxManifest, type FlowSegOnnxModels } from '../flowseg/exportFlowSegOnnx.js';

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

/** File name of each graph in a folder written by {@link writeFlowSegOnnx}. */
export const FLOWSEG_ONNX_FILES: Readonly<Record<(typeof FLOWSEG_ONNX_GRAPHS)[number] | 'manifest', string>> = {
  vision: 'vision.onnx',
  languageModel: 'language_model.onnx',
  adapter: 'adapter.onnx',
  segmentor: 'segmentor.onnx',
  decoder: 'decoder.onnx',
  manifest: 'manifest.json',
};

/**
 * Write `exportFlowSegOnnx`'s graphs and manifest into folder `dir` atomically (all
 * files or none: core's `writeDirectoryAtomic`): `vision.onnx`, `language_model.onnx`,
 * `adapter.onnx`, `segmentor.onnx`, `decoder.onnx`, `manifest.json`.
 */
export async function writeFlowSegOnnx(dir: string, models: FlowSegOnnxModels): Promise<void> {
  const files = new Map<string, Uint8Array | string>();
  for (const name of FLOWSEG_ONNX_GRAPHS) {
    const bytes = models?.[name];
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new ValueError(`models.${name}: expected ONNX bytes`, 'models');
    files.set(FLOWSEG_ONNX_FILES[name], bytes);
  }
  files.set(FLOWSEG_ONNX_FILES.manifest, `${JSON.stringify(models.manifest, null, 2)}\n`);
  await writeDirectoryAtomic(dir, files);
}

/** Read a folder written by {@link writeFlowSegOnnx} back into what `OnnxFlowSegRunner.create` takes. */
export async function readFlowSegOnnx(dir: string): Promise<FlowSegOnnxModels> {
  const read = async (name: string) => new Uint8Array(await readFile(join(dir, name)));
  const manifest = JSON.parse(new TextDecoder().decode(await read(FLOWSEG_ONNX_FILES.manifest))) as FlowSegOnnxManifest;
  if (manifest?.format !== 'flowseg-onnx') {
    throw new ValueError(`${join(dir, FLOWSEG_ONNX_FILES.manifest)}: not a flowseg-onnx manifest`, 'dir');
  }
  const [vision, languageModel, adapter, segmentor, decoder] = await Promise.all(FLOWSEG_ONNX_GRAPHS.map((g) => read(FLOWSEG_ONNX_FILES[g])));
  return { vision: vision!, languageModel: languageModel!, adapter: adapter!, segmentor: segmentor!, decoder: decoder!, manifest };
}
