import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeightsError, selectBackend } from '@flowseg/core';
import { generateSample } from '@flowseg/refseg-synth';
import {
  CHECKPOINT_FILES,
  FlowSegModel,
  disposeFlowSegOutputs,
  modelFromCheckpoint,
  serializeCheckpoint,
  checkpointMetadata,
} from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/index.js';
import { tinyConfig, tinyModel, tinyTokenizer } from '../support/tinyFlowSeg.js';

let root: string;
let model: FlowSegModel;
let images: tf.Tensor4D;
const tokenizer = tinyTokenizer();
const ids = [
  [...tokenizer.encode('show me all the red shapes', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG> <p> the square </p> <SEG>', { addEos: true })],
];

/** Every output of one forward pass, as plain arrays. */
function outputs(m: FlowSegModel): Record<string, number[]> {
  const out = m.forward({ images, tokenIds: ids });
  const values = {
    lmLogits: Array.from(out.lmLogits.dataSync()),
    candidateLogits: Array.from(out.candidateLogits.dataSync()),
    scores: Array.from(out.scores.dataSync()),
    selectedLogits: Array.from(out.selectedLogits.dataSync()),
    classLogits: Array.from(out.classLogits.dataSync()),
  };
  disposeFlowSegOutputs(out);
  return values;
}

async function expectWeightsError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeightsError);
  expect((error as Error).message).toMatch(pattern);
}

describe('checkpoints', () => {
  let reference: Record<string, number[]>;
  let saved: string;

  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
    root = await mkdtemp(join(tmpdir(), 'flowseg-ckpt-'));
    // A model whose weights differ from a fresh model's (seed 7), so a load that silently kept
    // initial weights would be caught.
    model = tinyModel({ seed: 7 });
    const scene = generateSample('val', 'multi', 0).scene;
    images = tf.tidy(() =>
      tf.image.resizeBilinear(tf.div(tf.tensor4d(scene.image, [1, 64, 64, 3], 'float32'), 255) as tf.Tensor4D, [32, 32], false, true),
    );
    reference = outputs(model);
    saved = join(root, 'saved');
    await saveCheckpoint(model, saved, { metadata: { steps: 3 } });
  });

  afterAll(async () => {
    images.dispose();
    model.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('save → load of a folder gives bit-identical outputs and keeps the metadata', async () => {
    const loaded = await loadCheckpoint(saved);
    expect(loaded.config).toEqual(model.config);
    expect(loaded.tokenizer.toJSON()).toEqual(model.tokenizer.toJSON());
    expect(outputs(loaded)).toEqual(reference);
    loaded.dispose();
    const config = await readFile(join(saved, CHECKPOINT_FILES.config), 'utf8');
    expect(checkpointMetadata(config)).toEqual({ steps: 3 });
  });

  it('serializeCheckpoint → modelFromCheckpoint gives bit-identical outputs, leak-free', () => {
    const before = tf.memory().numTensors;
    const bytes = serializeCheckpoint(model);
    const loaded = modelFromCheckpoint(bytes);
    expect(outputs(loaded)).toEqual(reference);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a missing folder or file with a WeightsError naming it', async () => {
    await expectWeightsError(loadCheckpoint(join(root, 'nowhere')), /nowhere: no checkpoint folder here/);
    const dir = join(root, 'missing-file');
    await cp(saved, dir, { recursive: true });
    await rm(join(dir, CHECKPOINT_FILES.weights));
    await expectWeightsError(loadCheckpoint(dir), /model\.safetensors: missing/);
  });

  it('refuses malformed config.json: invalid JSON, wrong version, invalid tokenizer', async () => {
    const text = await readFile(join(saved, CHECKPOINT_FILES.config), 'utf8');
    const weights = new Uint8Array(await readFile(join(saved, CHECKPOINT_FILES.weights)));
    const load = (config: string) => Promise.resolve().then(() => modelFromCheckpoint({ config, weights }, 'ckpt'));
    await expectWeightsError(load(text.slice(0, 40)), /ckpt\/config\.json: not valid JSON/);
    const doc = JSON.parse(text) as Record<string, unknown>;
    await expectWeightsError(load(JSON.stringify({ ...doc, version: 2 })), /format version 2 is not supported/);
    await expectWeightsError(load(JSON.stringify({ ...doc, format: 'other' })), /not a FlowSeg checkpoint/);
    await expectWeightsError(load(JSON.stringify({ ...doc, tokenizer: { format: 'x' } })), /invalid tokenizer/);
    await expectWeightsError(
      load(JSON.stringify({ ...doc, config: { ...(doc['config'] as object), decoder: { numQueries: 0 } } })),
      /invalid model config/,
    );
    // The same problems through a folder.
    const dir = join(root, 'bad-json');
    await cp(saved, dir, { recursive: true });
    await writeFile(join(dir, CHECKPOINT_FILES.config), '{ "format": ');
    await expectWeightsError(loadCheckpoint(dir), /bad-json\/config\.json: not valid JSON/);
  });

  it('refuses truncated weights, weights of another config, and a tokenizer that does not fit the weights', async () => {
    const text = await readFile(join(saved, CHECKPOINT_FILES.config), 'utf8');
    const weights = new Uint8Array(await readFile(join(saved, CHECKPOINT_FILES.weights)));
    const load = (config: string, w: Uint8Array) => Promise.resolve().then(() => modelFromCheckpoint({ config, weights: w }, 'ckpt'));
    const before = tf.memory().numTensors;
    await expectWeightsError(load(text, weights.slice(0, weights.length - 100)), /ckpt\/model\.safetensors/);
    await expectWeightsError(load(text, weights.slice(0, 5)), /ckpt\/model\.safetensors/);
    // Weights of a wider decoder under this config.
    const other = new FlowSegModel({ config: tinyConfig({ decoder: { ffnDim: 48 } }), tokenizer });
    const otherBytes = serializeCheckpoint(other);
    other.dispose();
    await expectWeightsError(load(text, otherBytes.weights), /does not fit its config.*ffn/s);
    // BAR weights missing (a sr+cr checkpoint's weights under a full config).
    const noBar = new FlowSegModel({ config: tinyConfig({ bar: { enabled: false } }), tokenizer });
    const noBarBytes = serializeCheckpoint(noBar);
    noBar.dispose();
    await expectWeightsError(load(text, noBarBytes.weights), /does not fit its config.*bar\./s);
    // A tokenizer with one more word: the embedding table no longer fits.
    const doc = JSON.parse(text) as { tokenizer: { tokens: string[] } };
    const bigger = { ...doc, tokenizer: { ...doc.tokenizer, tokens: [...doc.tokenizer.tokens, 'extra'] } };
    await expectWeightsError(load(JSON.stringify(bigger), weights), /does not fit its config.*embed_tokens/s);
    // Failed loads leave nothing behind (the half-built model is disposed).
    expect(tf.memory().numTensors).toBe(before);
  });

  it('recovers a save interrupted between its renames (<dir>.previous left, <dir> missing)', async () => {
    const dir = join(root, 'interrupted');
    await mkdir(root, { recursive: true });
    await cp(saved, `${dir}.previous`, { recursive: true });
    await mkdir(`${dir}.saving`);
    await writeFile(join(`${dir}.saving`, CHECKPOINT_FILES.config), '{ half');
    const loaded = await loadCheckpoint(dir);
    expect(outputs(loaded)).toEqual(reference);
    loaded.dispose();
    // The folder is back and the leftovers are gone.
    await expect(readFile(join(dir, CHECKPOINT_FILES.config), 'utf8')).resolves.toContain('flowseg-checkpoint');
    await expect(readFile(join(`${dir}.saving`, CHECKPOINT_FILES.config))).rejects.toThrow();
    // Saving over an existing checkpoint replaces it atomically.
    const replacement = tinyModel({ seed: 8 });
    await saveCheckpoint(replacement, dir);
    const reloaded = await loadCheckpoint(dir);
    expect(outputs(reloaded)).toEqual(outputs(replacement));
    expect(outputs(reloaded)).not.toEqual(reference);
    replacement.dispose();
    reloaded.dispose();
  });
});
