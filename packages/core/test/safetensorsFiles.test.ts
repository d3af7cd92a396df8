import { describe, it, expect, beforeAll, beforeEach, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrossAttentionBlock, selectBackend, WeightsError, WeightsMismatchError } from '@flowseg/core';
import {
  loadLayerWeightsFile,
  loadSafetensorsFile,
  openSafetensorsFile,
  saveLayerWeightsFile,
  saveSafetensorsFile,
  writeFileAtomic,
} from '@flowseg/core/node';
import { expectNoLeaksAsync } from '@flowseg/core/testing';
import { randomizeWeights, randomTensor, releaseWeights } from './support/reference.js';

let dir: string;

beforeAll(async () => {
  await selectBackend('wasm');
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowseg-weights-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('safetensors files (Node)', () => {
  it('saves and loads tensors and metadata, leaving no temporary files', async () => {
    const path = join(dir, 'model.safetensors');
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.tensor1d([5, -6], 'int32');
    await expectNoLeaksAsync(() => saveSafetensorsFile(path, { a, b }, { step: '12' }));
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    const back = await expectNoLeaksAsync(() => loadSafetensorsFile(path));
    expect([...back.get('a')!.dataSync()]).toEqual([1, 2, 3, 4]);
    expect(back.get('b')!.dtype).toBe('int32');
    expect((await openSafetensorsFile(path)).metadata).toEqual({ step: '12' });
    // Overwriting replaces the file atomically.
    await saveSafetensorsFile(path, { a: b });
    expect((await openSafetensorsFile(path)).names).toEqual(['a']);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    tf.dispose([a, b, ...back.values()]);
  });

  it('keeps an existing file intact when serialization throws', async () => {
    const path = join(dir, 'model.safetensors');
    await writeFile(path, 'previous contents');
    const dead = tf.tensor1d([1]);
    dead.dispose();
    const err = await rejection(saveSafetensorsFile(path, { w: dead }));
    expect(err).toBeInstanceOf(WeightsError);
    expect(err.message).toMatch(/tensor "w" is disposed/);
    expect(await readFile(path, 'utf8')).toBe('previous contents');
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('cleans up its temporary file when the final rename fails', async () => {
    const path = join(dir, 'taken');
    await mkdir(path); // renaming a file over a folder fails
    await writeFile(join(path, 'inside'), 'x');
    const t = tf.tensor1d([1]);
    const err = await rejection(saveSafetensorsFile(path, { t }));
    expect(err).toBeInstanceOf(WeightsError);
    expect(err.message).toMatch(/could not write .*taken/);
    expect((await readdir(dir)).sort()).toEqual(['taken']);
    expect(await readdir(path)).toEqual(['inside']);
    t.dispose();
  });

  it('writeFileAtomic writes strings and bytes', async () => {
    const path = join(dir, 'config.json');
    await writeFileAtomic(path, '{"a":1}');
    expect(await readFile(path, 'utf8')).toBe('{"a":1}');
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    expect(await readFile(path, 'utf8')).toBe('hi');
    expect(await readdir(dir)).toEqual(['config.json']);
  });

  it('reports a missing or corrupt file as a WeightsError naming the path, creating no tensor', async () => {
    const missing = join(dir, 'nope.safetensors');
    const e1 = await rejection(loadSafetensorsFile(missing));
    expect(e1).toBeInstanceOf(WeightsError);
    expect(e1.message).toContain('nope.safetensors');

    const path = join(dir, 'cut.safetensors');
    const t = tf.tensor1d([1, 2, 3]);
    await saveSafetensorsFile(path, { t });
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 2));
    const before = tf.memory().numTensors;
    const e2 = await rejection(loadSafetensorsFile(path));
    expect(e2).toBeInstanceOf(WeightsError);
    expect(e2.message).toMatch(/cut\.safetensors: safetensors: tensor "t": data_offsets \[0, 12\] run past/);
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('saves a layer and loads it into another layer of the same structure', async () => {
    const path = join(dir, 'block.safetensors');
    const a = new CrossAttentionBlock({ dim: 8, numHeads: 2 });
    const b = new CrossAttentionBlock({ dim: 8, numHeads: 2 });
    randomizeWeights(a, 5);
    const q = randomTensor<tf.Rank.R3>([2, 3, 8], 1);
    const m = randomTensor<tf.Rank.R3>([2, 4, 8], 2);
    const want = [...a.forward({ queries: q, memory: m }).dataSync()];
    await expectNoLeaksAsync(() => saveLayerWeightsFile(path, a, { layer: 'CrossAttentionBlock' }));
    expect((await openSafetensorsFile(path)).names).toContain('multihead_attn.out_proj.kernel');
    b.ensureBuilt(); // building creates the variables; loading must add nothing on top
    const result = await expectNoLeaksAsync(() => loadLayerWeightsFile(path, b));
    expect(result.loaded).toHaveLength(10);
    expect([...b.forward({ queries: q, memory: m }).dataSync()]).toEqual(want);

    // A file for a different structure is refused and loads nothing.
    const other = new CrossAttentionBlock({ dim: 4, numHeads: 2 });
    const err = await rejection(loadLayerWeightsFile(path, other));
    expect(err).toBeInstanceOf(WeightsMismatchError);
    expect((err as WeightsMismatchError).mismatched).toHaveLength(10);
    tf.dispose([q, m]);
    releaseWeights(a);
    releaseWeights(b);
    releaseWeights(other);
  });
});
