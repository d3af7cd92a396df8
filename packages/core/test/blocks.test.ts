import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { CrossAttentionBlock, FeedForwardBlock, SelfAttentionBlock, selectBackend, ShapeError, ValueError } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import {
  addVec,
  feedForwardVec,
  layerNormVec,
  maxAbsDiff,
  randomArray,
  randomizeWeights,
  referenceAttention,
  releaseWeights,
  weightsOf,
  type Vec,
} from './support/reference.js';

const B = 2;
const NQ = 4;
const NK = 6;
const D = 8;
const H = 2;

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Post-norm residual: norm(x + sublayer(x)) row by row. */
function postNorm(x: number[][][], sub: number[][][], w: Map<string, number[] | number[][]>): number[][][] {
  return x.map((rows, b) => rows.map((r, i) => layerNormVec(addVec(r, sub[b]![i]!), w.get('norm.weight') as Vec, w.get('norm.bias') as Vec)));
}

describe('CrossAttentionBlock', () => {
  it('equals norm(q + MHA(q + q_pos, m + m_pos, m, mask)) re-derived', () => {
    const block = new CrossAttentionBlock({ dim: D, numHeads: H });
    randomizeWeights(block, 1);
    const q = randomArray([B, NQ, D], 2) as number[][][];
    const m = randomArray([B, NK, D], 3) as number[][][];
    const qp = randomArray([B, NQ, D], 4) as number[][][];
    const mp = randomArray([B, NK, D], 5) as number[][][];
    const blocked = (b: number, _h: number, i: number, j: number) => (b * 3 + i + 2 * j) % 4 === 0 || (b === 0 && i === 1);
    const maskData: boolean[] = [];
    for (let b = 0; b < B; b++) for (let i = 0; i < NQ; i++) for (let j = 0; j < NK; j++) maskData.push(blocked(b, 0, i, j));
    const pad = [
      [false, false, false, false, false, true],
      [false, false, false, false, false, false],
    ];
    const inputs = {
      queries: tf.tensor3d(q),
      memory: tf.tensor3d(m),
      queryPos: tf.tensor3d(qp),
      memoryPos: tf.tensor3d(mp),
      attentionMask: tf.tensor3d(maskData, [B, NQ, NK], 'bool'),
      keyPaddingMask: tf.tensor2d(pad, [B, NK], 'bool'),
    };
    const y = expectNoLeaks(() => block.forward(inputs), { warmup: true });
    const w = weightsOf(block);
    const attn = referenceAttention(w, H, q, m, m, { queryPos: qp, keyPos: mp, blocked: (b, h, i, j) => blocked(b, h, i, j) || pad[b]![j]! }, 'multihead_attn.');
    expect(maxAbsDiff(y.arraySync(), postNorm(q, attn.output, w))).toBeLessThan(1e-5);
    expect([...w.keys()]).toEqual([
      'multihead_attn.q_proj.kernel',
      'multihead_attn.q_proj.bias',
      'multihead_attn.k_proj.kernel',
      'multihead_attn.k_proj.bias',
      'multihead_attn.v_proj.kernel',
      'multihead_attn.v_proj.bias',
      'multihead_attn.out_proj.kernel',
      'multihead_attn.out_proj.bias',
      'norm.weight',
      'norm.bias',
    ]);
    releaseWeights(block);
  });

  it('applies dropout only in training and propagates ShapeErrors from the attention', () => {
    const block = new CrossAttentionBlock({ dim: D, numHeads: H, dropout: 0.5 });
    randomizeWeights(block, 6);
    const queries = tf.tensor3d(randomArray([B, NQ, D], 7) as number[][][]);
    const memory = tf.tensor3d(randomArray([B, NK, D], 8) as number[][][]);
    const evalOut = block.forward({ queries, memory }).arraySync();
    expect(maxAbsDiff(block.forward({ queries, memory, training: false }).arraySync(), evalOut)).toBe(0);
    expect(maxAbsDiff(block.forward({ queries, memory, training: true }).arraySync(), evalOut)).toBeGreaterThan(1e-3);
    expect(() => block.forward({ queries, memory: tf.zeros([B, NK, D + 1]) as tf.Tensor3D })).toThrow(ShapeError);
    expect(() => new CrossAttentionBlock({ dim: D, numHeads: 3 })).toThrow(ValueError);
    expect(() => new CrossAttentionBlock({ dim: D, numHeads: H, dropout: 2 })).toThrow(/dropout/);
    releaseWeights(block);
  });
});

describe('SelfAttentionBlock', () => {
  it('equals norm(q + MHA(q + pos, q + pos, q)) re-derived, with a key padding mask', () => {
    const block = new SelfAttentionBlock({ dim: D, numHeads: H });
    randomizeWeights(block, 11);
    const q = randomArray([B, NQ, D], 12) as number[][][];
    const pos = randomArray([B, NQ, D], 13) as number[][][];
    const pad = [
      [false, true, false, false],
      [false, false, false, true],
    ];
    const queries = tf.tensor3d(q);
    const queryPos = tf.tensor3d(pos);
    const keyPaddingMask = tf.tensor2d(pad, [B, NQ], 'bool');
    const y = expectNoLeaks(() => block.forward({ queries, queryPos, keyPaddingMask }), { warmup: true });
    const w = weightsOf(block);
    const attn = referenceAttention(w, H, q, q, q, { queryPos: pos, keyPos: pos, blocked: (b, _h, _i, j) => pad[b]![j]! }, 'self_attn.');
    expect(maxAbsDiff(y.arraySync(), postNorm(q, attn.output, w))).toBeLessThan(1e-5);
    expect([...w.keys()].filter((k) => !k.startsWith('self_attn.'))).toEqual(['norm.weight', 'norm.bias']);
    releaseWeights(block);
  });
});

describe('FeedForwardBlock', () => {
  it('equals norm(x + linear2(relu(linear1(x)))) re-derived', () => {
    const block = new FeedForwardBlock({ dim: D, hiddenDim: 12 });
    randomizeWeights(block, 21);
    const x = randomArray([B, NQ, D], 22) as number[][][];
    const xt = tf.tensor3d(x);
    const y = expectNoLeaks(() => block.forward(xt), { warmup: true });
    const w = weightsOf(block);
    const ffn = x.map((rows) => rows.map((r) => feedForwardVec(r, w, 'ffn.')));
    expect(maxAbsDiff(y.arraySync(), postNorm(x, ffn, w))).toBeLessThan(1e-5);
    expect([...w.keys()]).toEqual(['ffn.linear1.kernel', 'ffn.linear1.bias', 'ffn.linear2.kernel', 'ffn.linear2.bias', 'norm.weight', 'norm.bias']);
    releaseWeights(block);
  });

  it('applies dropout only in training', () => {
    const block = new FeedForwardBlock({ dim: D, hiddenDim: 16, dropout: 0.5 });
    randomizeWeights(block, 23);
    const x = tf.tensor3d(randomArray([B, NQ, D], 24) as number[][][]);
    const evalOut = block.forward(x).arraySync();
    expect(maxAbsDiff(block.forward(x, true).arraySync(), evalOut)).toBeGreaterThan(1e-3);
    expect(() => new FeedForwardBlock({ dim: D, hiddenDim: 16, dropout: -1 })).toThrow(ValueError);
    releaseWeights(block);
  });
});
