import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  CrossAttentionBlock,
  getLayerWeights,
  Linear,
  MultiHeadAttention,
  readSafetensors,
  selectBackend,
  serializeSafetensors,
  setLayerWeights,
  WeightsError,
  WeightsMismatchError,
} from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { randomizeWeights, randomTensor, releaseWeights } from './support/reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const values = (t: tf.Tensor) => [...t.dataSync()];

function snapshot(layer: { namedWeights(): Map<string, tf.LayerVariable> }): Map<string, number[]> {
  return new Map([...layer.namedWeights()].map(([n, v]) => [n, values(v.read())]));
}

/** The error `fn` throws, checking that nothing in `layer` changed. */
function expectRejected(layer: MultiHeadAttention, fn: () => unknown): WeightsMismatchError {
  const before = snapshot(layer);
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WeightsMismatchError);
  expect(caught).toBeInstanceOf(WeightsError);
  expect(snapshot(layer)).toEqual(before);
  return caught as WeightsMismatchError;
}

describe('getLayerWeights', () => {
  it('returns copies of every weight under its dotted name', () => {
    const block = new CrossAttentionBlock({ dim: 8, numHeads: 2 });
    randomizeWeights(block, 1);
    const weights = expectNoLeaks(() => getLayerWeights(block));
    expect([...weights.keys()]).toEqual([...block.namedWeights().keys()]);
    expect([...weights.keys()]).toContain('multihead_attn.q_proj.kernel');
    expect([...weights.keys()]).toContain('norm.weight');
    const kernel = values(weights.get('multihead_attn.q_proj.kernel')!);
    // Changing the layer does not change the copy, and disposing the copy does not hurt the layer.
    randomizeWeights(block, 99);
    expect(values(weights.get('multihead_attn.q_proj.kernel')!)).toEqual(kernel);
    tf.dispose([...weights.values()]);
    expect(values(block.namedWeights().get('norm.bias')!.read())).toHaveLength(8);
    releaseWeights(block);
  });
});

describe('setLayerWeights', () => {
  it('loads every weight by name; the source tensors may be disposed afterwards', () => {
    const a = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const b = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    randomizeWeights(a, 1);
    randomizeWeights(b, 2);
    const x = randomTensor<tf.Rank.R3>([1, 3, 8], 3);
    const want = values(a.forward({ query: x, key: x, value: x }).output);
    expect(values(b.forward({ query: x, key: x, value: x }).output)).not.toEqual(want);

    const before = tf.memory();
    const weights = getLayerWeights(a);
    const result = setLayerWeights(b, weights);
    tf.dispose([...weights.values()]);
    // Old variable data was released and nothing else stays behind.
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(result.loaded).toEqual([...a.namedWeights().keys()]);
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toEqual([]);
    expect(values(b.forward({ query: x, key: x, value: x }).output)).toEqual(want);
    releaseWeights(a);
    releaseWeights(b);
  });

  it('loads weights read back from safetensors bytes (plain object input too)', () => {
    const a = new Linear({ inFeatures: 3, outFeatures: 2 });
    const b = new Linear({ inFeatures: 3, outFeatures: 2 });
    const weights = getLayerWeights(a);
    const bytes = serializeSafetensors(weights);
    const back = readSafetensors(bytes);
    setLayerWeights(b, Object.fromEntries(back));
    expect(snapshot(b)).toEqual(snapshot(a));
    tf.dispose([...weights.values(), ...back.values()]);
    releaseWeights(a);
    releaseWeights(b);
  });

  it('strict: missing names are an error listing all of them, and nothing is loaded', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 1 });
    const weights = getLayerWeights(layer);
    const partial = new Map([...weights].filter(([n]) => n !== 'q_proj.bias' && n !== 'out_proj.kernel'));
    const replacement = new Map([...partial].map(([n, t]) => [n, tf.onesLike(t)]));
    const err = expectRejected(layer, () => setLayerWeights(layer, replacement));
    expect(err.missing).toEqual(['q_proj.bias', 'out_proj.kernel']);
    expect(err.message).toContain('missing: q_proj.bias');
    expect(err.message).toContain('missing: out_proj.kernel');
    expect(err.message).toContain('no weight was loaded');
    tf.dispose([...weights.values(), ...replacement.values()]);
    releaseWeights(layer);
  });

  it('strict: unexpected names are an error', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 1 });
    const weights = getLayerWeights(layer);
    const extra = tf.zeros([4]);
    weights.set('q_proj.gamma', extra);
    weights.set('decoder.layers.0.x', extra);
    const err = expectRejected(layer, () => setLayerWeights(layer, weights));
    expect(err.unexpected).toEqual(['q_proj.gamma', 'decoder.layers.0.x']);
    expect(err.missing).toEqual([]);
    tf.dispose([...weights.values()]);
    releaseWeights(layer);
  });

  it('shape, dtype and disposed-tensor mismatches are listed together with missing and unexpected names', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 1 });
    const weights = getLayerWeights(layer);
    const dead = tf.zeros([4]);
    dead.dispose();
    weights.get('k_proj.kernel')!.dispose();
    weights.set('k_proj.kernel', tf.zeros([4, 3]));
    weights.get('v_proj.bias')!.dispose();
    weights.set('v_proj.bias', tf.zeros([4], 'int32'));
    weights.get('out_proj.bias')!.dispose();
    weights.set('out_proj.bias', dead);
    weights.get('q_proj.kernel')!.dispose();
    weights.delete('q_proj.kernel');
    weights.set('bogus', tf.zeros([1]));
    const err = expectRejected(layer, () => setLayerWeights(layer, weights));
    expect(err.missing).toEqual(['q_proj.kernel']);
    expect(err.unexpected).toEqual(['bogus']);
    expect(err.mismatched).toEqual([
      'shape mismatch: k_proj.kernel expected [4, 4], received [4, 3]',
      'dtype mismatch: v_proj.bias expected float32, received int32',
      'disposed: out_proj.bias',
    ]);
    expect(err.message).toMatch(/5 problem\(s\)/);
    tf.dispose([...weights.values()]);
    releaseWeights(layer);
  });

  it('non-strict: missing weights are kept and unexpected names ignored (both reported); mismatches still fail', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 1 });
    const kept = values(layer.namedWeights().get('q_proj.kernel')!.read());
    const weights = new Map<string, tf.Tensor>([
      ['out_proj.bias', tf.fill([4], 7)],
      ['extra', tf.zeros([2])],
    ]);
    const result = setLayerWeights(layer, weights, { strict: false });
    expect(result.loaded).toEqual(['out_proj.bias']);
    expect(result.unexpected).toEqual(['extra']);
    expect(result.missing).toHaveLength(7);
    expect(values(layer.namedWeights().get('out_proj.bias')!.read())).toEqual([7, 7, 7, 7]);
    expect(values(layer.namedWeights().get('q_proj.kernel')!.read())).toEqual(kept);

    const bad = new Map<string, tf.Tensor>([
      ['out_proj.bias', tf.fill([4], 1)],
      ['q_proj.bias', tf.zeros([5])],
    ]);
    const err = expectRejected(layer, () => setLayerWeights(layer, bad, { strict: false }));
    expect(err.mismatched).toEqual(['shape mismatch: q_proj.bias expected [4], received [5]']);
    expect(err.missing).toEqual([]);
    tf.dispose([...weights.values(), ...bad.values()]);
    releaseWeights(layer);
  });
});
