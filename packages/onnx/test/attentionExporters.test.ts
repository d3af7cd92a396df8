import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { CrossAttentionBlock, MultiHeadAttention, SelfAttentionBlock, selectBackend } from '@flowseg/core';
import { exportOnnx, exportOnnxGraph, type OnnxSession } from '../src/index.js';
import { randn, randomBool, randomizeWeights, relativeError, session } from './support.js';

const TOL = 1e-4;
const D = 16;
const H = 4;

beforeAll(async () => {
  await selectBackend('wasm');
});

function mha(seed: number, config: { keyDim?: number; valueDim?: number } = {}): MultiHeadAttention {
  const layer = new MultiHeadAttention({ embedDim: D, numHeads: H, seed, ...config });
  randomizeWeights(layer, seed);
  return layer;
}

/** Run ORT and TF.js on the same feeds; compare every ORT output with the reference of the same name. */
async function compare(s: OnnxSession, feeds: Record<string, tf.Tensor>, reference: Record<string, tf.Tensor | undefined>): Promise<Record<string, tf.Tensor>> {
  const out = await s.run(feeds);
  for (const [name, ref] of Object.entries(reference)) {
    expect(out[name]!.shape, name).toEqual(ref!.shape);
    expect(relativeError(out[name]!, ref!), name).toBeLessThan(TOL);
  }
  return out;
}

describe('MultiHeadAttention exporter', () => {
  it('equals forward without masks, at two (batch, queries, keys) sizes with one model', async () => {
    const layer = mha(1);
    const s = await session(exportOnnx(layer, { outputs: ['output', 'weights'] }));
    for (const [b, nq, nk, seed] of [[2, 3, 5, 10], [1, 7, 2, 20]] as const) {
      const query = randn([b, nq, D], seed) as tf.Tensor3D;
      const key = randn([b, nk, D], seed + 1) as tf.Tensor3D;
      const value = randn([b, nk, D], seed + 2) as tf.Tensor3D;
      const ref = layer.forward({ query, key, value, returnWeights: true });
      const out = await compare(s, { query, key, value }, { output: ref.output, weights: ref.weights });
      tf.dispose([query, key, value, ref.output, ref.weights!, ...Object.values(out)]);
    }
    await s.release();
    layer.dispose();
  });

  it('adds queryPos to q and keyPos to k (not v); keyDim/valueDim may differ from embedDim', async () => {
    const layer = mha(2, { keyDim: 12, valueDim: 8 });
    const s = await session(exportOnnx(layer, { inputs: ['query', 'key', 'value', 'queryPos', 'keyPos'] }));
    const [query, queryPos] = [randn([2, 3, D], 1), randn([2, 3, D], 2)] as tf.Tensor3D[];
    const [key, keyPos] = [randn([2, 6, 12], 3), randn([2, 6, 12], 4)] as tf.Tensor3D[];
    const value = randn([2, 6, 8], 5) as tf.Tensor3D;
    const ref = layer.forward({ query, key, value, queryPos, keyPos });
    const out = await compare(s, { query, key, value, queryPos, keyPos }, { output: ref.output });
    // Sanity: the positions matter, so the comparison above could fail.
    const noPos = layer.forward({ query, key, value });
    expect(relativeError(out['output']!, noPos.output)).toBeGreaterThan(1e-2);
    tf.dispose([query, queryPos!, key, keyPos!, value, ref.output, noPos.output, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });

  it('bool attention mask + key padding: blocked keys get 0, rows that see no key get all-zero weights and output = out_proj bias', async () => {
    const layer = mha(3);
    const bytes = exportOnnx(layer, {
      inputs: ['query', 'key', 'value', { name: 'attentionMask', dims: [1, 'maskHeads', 'queries', 'keys'] }, 'keyPaddingMask'],
      outputs: ['output', 'weights'],
    });
    const s = await session(bytes);
    for (const [b, nq, nk, seed] of [[2, 4, 5, 30], [3, 2, 7, 40]] as const) {
      const query = randn([b, nq, D], seed) as tf.Tensor3D;
      const key = randn([b, nk, D], seed + 1) as tf.Tensor3D;
      // Row 0 of the mask blocks every key; batch item 1 pads every key (no row of it sees anything).
      const maskValues = (await randomBool([1, H, nq, nk], seed + 2).array()) as number[][][][];
      for (const h of maskValues[0]!) h[0] = h[0]!.map(() => 1);
      const attentionMask = tf.tensor4d(maskValues, undefined, 'bool');
      const pad = (await randomBool([b, nk], seed + 3, 0.2).array()) as number[][];
      pad[1] = pad[1]!.map(() => 1);
      const keyPaddingMask = tf.tensor2d(pad, undefined, 'bool');
      const ref = layer.forward({ query, key, value: key, attentionMask, keyPaddingMask, returnWeights: true });
      const out = await compare(s, { query, key, value: key, attentionMask, keyPaddingMask }, { output: ref.output, weights: ref.weights });
      const w = (await out['weights']!.array()) as number[][][][];
      const o = (await out['output']!.array()) as number[][][];
      const bias = Array.from(layer.namedWeights().get('out_proj.bias')!.read().dataSync());
      for (let bi = 0; bi < b; bi++) {
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < nq; i++) {
            for (let j = 0; j < nk; j++) {
              if (maskValues[0]![h]![i]![j] || pad[bi]![j]) expect(w[bi]![h]![i]![j]).toBe(0);
            }
          }
          expect(w[bi]![h]![0]!.every((x) => x === 0)).toBe(true);
        }
        expect(Number.isFinite(o[bi]![0]![0]!)).toBe(true);
      }
      for (const row of o[1]!) row.forEach((x, c) => expect(x).toBeCloseTo(bias[c]!, 5));
      tf.dispose([query, key, attentionMask, keyPaddingMask, ref.output, ref.weights!, ...Object.values(out)]);
    }
    await s.release();
    layer.dispose();
  });

  it('float32 attention mask is added to the scores', async () => {
    const layer = mha(4);
    const s = await session(exportOnnx(layer, { inputs: ['query', 'key', 'value', { name: 'attentionMask', dtype: 'float32' }] }));
    const query = randn([2, 3, D], 1) as tf.Tensor3D;
    const key = randn([2, 4, D], 2) as tf.Tensor3D;
    const attentionMask = tf.mul(randn([2, H, 3, 4], 3), 3) as tf.Tensor4D;
    const ref = layer.forward({ query, key, value: key, attentionMask });
    const out = await compare(s, { query, key, value: key, attentionMask }, { output: ref.output });
    tf.dispose([query, key, attentionMask, ref.output, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });

  it('one graph input can feed query, key and value (self-attention)', async () => {
    const layer = mha(5);
    const bytes = exportOnnx(layer, {
      inputs: ['query', 'key', 'value'].map((name) => ({ name, dims: ['batch', 'tokens', D], graphName: 'x' })),
    });
    const s = await session(bytes);
    expect(s.inputNames).toEqual(['x']);
    const x = randn([2, 5, D], 6) as tf.Tensor3D;
    const ref = layer.forward({ query: x, key: x, value: x });
    const out = await compare(s, { x }, { output: ref.output });
    tf.dispose([x, ref.output, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });

  it('initializers carry the q/k/v/out projection names', () => {
    const layer = mha(6);
    const names = exportOnnxGraph(layer).toModelProto().graph.initializers.map((t) => t.name);
    for (const w of layer.namedWeights().keys()) expect(names).toContain(w);
    layer.dispose();
  });
});

describe('attention block exporters', () => {
  it('CrossAttentionBlock: equals forward with positions, a bool mask (incl. a fully blocked row) and key padding, at two sizes', async () => {
    const block = new CrossAttentionBlock({ dim: D, numHeads: H, seed: 7 });
    randomizeWeights(block, 7);
    const s = await session(exportOnnx(block, { inputs: ['queries', 'memory', 'queryPos', 'memoryPos', 'attentionMask', 'keyPaddingMask'] }));
    for (const [b, nq, nk, seed] of [[2, 3, 6, 50], [1, 5, 4, 60]] as const) {
      const queries = randn([b, nq, D], seed) as tf.Tensor3D;
      const queryPos = randn([b, nq, D], seed + 1) as tf.Tensor3D;
      const memory = randn([b, nk, D], seed + 2) as tf.Tensor3D;
      const memoryPos = randn([b, nk, D], seed + 3) as tf.Tensor3D;
      const m = (await randomBool([b, nq, nk], seed + 4).array()) as number[][][];
      m[0]![nq - 1] = m[0]![nq - 1]!.map(() => 1);
      const attentionMask = tf.tensor3d(m, undefined, 'bool');
      const keyPaddingMask = tf.concat([tf.zeros([b, nk - 1], 'bool'), tf.ones([b, 1], 'bool')], 1) as tf.Tensor2D;
      const feeds = { queries, queryPos, memory, memoryPos, attentionMask, keyPaddingMask };
      const ref = block.forward(feeds);
      const out = await compare(s, feeds, { output: ref });
      tf.dispose([...Object.values(feeds), ref, ...Object.values(out)]);
    }
    const names = exportOnnxGraph(block).toModelProto().graph.initializers.map((t) => t.name).filter((n) => !n.startsWith('const_'));
    expect(names.sort()).toEqual([...block.namedWeights().keys()].sort());
    expect(names).toContain('multihead_attn.q_proj.kernel');
    await s.release();
    block.dispose();
  });

  it('SelfAttentionBlock: equals forward with positions and key padding, at two sizes', async () => {
    const block = new SelfAttentionBlock({ dim: D, numHeads: H, seed: 8 });
    randomizeWeights(block, 8);
    const s = await session(exportOnnx(block, { inputs: ['queries', 'queryPos', 'keyPaddingMask'] }));
    for (const [b, nq, seed] of [[2, 5, 70], [3, 2, 80]] as const) {
      const queries = randn([b, nq, D], seed) as tf.Tensor3D;
      const queryPos = randn([b, nq, D], seed + 1) as tf.Tensor3D;
      const keyPaddingMask = randomBool([b, nq], seed + 2) as tf.Tensor2D;
      const feeds = { queries, queryPos, keyPaddingMask };
      const ref = block.forward(feeds);
      const out = await compare(s, feeds, { output: ref });
      tf.dispose([...Object.values(feeds), ref, ...Object.values(out)]);
    }
    await s.release();
    block.dispose();
  });
});
