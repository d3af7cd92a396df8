import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { SemanticCrossAttention } from '@flowseg/bsf-layer';
import { semanticRefinement } from './reference.js';
import { expectClose, items, maskFromCounts, rand, seedWeights, validFromCounts } from './helpers.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const D = 8;
const H = 2;

function setup(counts: number[], t: number, n = 5) {
  const sr = new SemanticCrossAttention({ dim: D, numHeads: H });
  sr.ensureBuilt();
  seedWeights(sr, 21);
  const b = counts.length;
  return {
    sr,
    queries: rand([b, n, D], 1) as tf.Tensor3D,
    queryPos: rand([b, n, D], 2) as tf.Tensor3D,
    conditions: rand([b, t, D], 3) as tf.Tensor3D,
    conditionMask: maskFromCounts(counts, t),
  };
}

describe('SemanticCrossAttention (SR)', () => {
  it('equals MHA(Q_vis + pos, C, C) with key padding, then the gate (ragged batch, random weights)', () => {
    const counts = [3, 1, 2];
    const { sr, ...x } = setup(counts, 3);
    const out = expectNoLeaks(() => sr.forward(x), { warmup: true });
    const w = sr.namedWeights();
    const [q, p, c] = [items(x.queries), items(x.queryPos), items(x.conditions)];
    const valid = validFromCounts(counts, 3);
    for (let b = 0; b < counts.length; b++) {
      const ref = semanticRefinement(w, '', H, q[b]!, p[b]!, c[b]!, valid[b]!);
      expectClose(items(out.semantic)[b], ref.semantic);
      expectClose(items(out.gate)[b], ref.gate);
      expectClose(items(out.fused)[b], ref.fused);
    }
    tf.dispose([x.queries, x.queryPos, x.conditions, x.conditionMask, out.fused, out.semantic, out.gate]);
  });

  it('every slot real (read on wasm): skips padding and blends, same values as the reference, fewer kernels', async () => {
    const counts = [3, 3];
    const { sr, ...x } = setup(counts, 3);
    const out = expectNoLeaks(() => sr.forward(x), { warmup: true });
    const w = sr.namedWeights();
    const [q, p, c] = [items(x.queries), items(x.queryPos), items(x.conditions)];
    for (let b = 0; b < counts.length; b++) {
      const ref = semanticRefinement(w, '', H, q[b]!, p[b]!, c[b]!, [true, true, true]);
      expectClose(items(out.semantic)[b], ref.semantic);
      expectClose(items(out.gate)[b], ref.gate);
      expectClose(items(out.fused)[b], ref.fused);
    }
    // The same conditions plus one padded slot take the general path: equal values, more kernels.
    const padded = {
      ...x,
      conditions: tf.concat([x.conditions, rand([2, 1, D], 9)], 1) as tf.Tensor3D,
      conditionMask: maskFromCounts(counts, 4),
    };
    const general = sr.forward(padded);
    expectClose(items(general.fused), items(out.fused));
    const kernels = async (input: typeof x) => (await tf.profile(() => sr.forward(input).fused)).kernels.length;
    expect(await kernels(x)).toBeLessThan(await kernels(padded));
    tf.dispose([x.queries, x.queryPos, x.conditions, x.conditionMask, padded.conditions, padded.conditionMask]);
    tf.dispose([out.fused, out.semantic, out.gate, general.fused, general.semantic, general.gate]);
  });

  it('an item with zero real conditions keeps Q_fused = Q_vis exactly (gate 1, Q_sem 0), never NaN', () => {
    const { sr, ...x } = setup([2, 0], 2);
    const out = sr.forward(x);
    const fused = items(out.fused);
    expect(fused[1]).toEqual(items(x.queries)[1]);
    expect(items(out.gate)[1]!.flat().every((g) => g === 1)).toBe(true);
    expect(items(out.semantic)[1]!.flat().every((s) => s === 0)).toBe(true);
    expect(fused.flat(2).every(Number.isFinite)).toBe(true);
    // The other item is really refined.
    expect(fused[0]).not.toEqual(items(x.queries)[0]);
    tf.dispose([x.queries, x.queryPos, x.conditions, x.conditionMask, out.fused, out.semantic, out.gate]);
  });

  it('T = 0 (no condition slots) is the identity', () => {
    const { sr, ...x } = setup([0, 0], 0);
    const out = expectNoLeaks(() => sr.forward(x), { warmup: true });
    expect(out.fused.arraySync()).toEqual(x.queries.arraySync());
    expect(out.fused).not.toBe(x.queries); // a new tensor the caller owns
    tf.dispose([x.queries, x.queryPos, x.conditions, x.conditionMask, out.fused, out.semantic, out.gate]);
  });

  it('checks shapes and dtypes, naming the argument', () => {
    const { sr, ...x } = setup([1, 1], 2);
    const badMask = tf.ones([2, 3]) as tf.Tensor2D;
    expect(() => sr.forward({ ...x, conditionMask: badMask })).toThrow(ShapeError);
    expect(() => sr.forward({ ...x, conditionMask: badMask })).toThrow(/conditionMask/);
    const boolMask = tf.ones([2, 2], 'bool') as tf.Tensor2D;
    expect(() => sr.forward({ ...x, conditionMask: boolMask })).toThrow(DTypeError);
    const narrow = tf.ones([2, 2, D / 2]) as tf.Tensor3D;
    expect(() => sr.forward({ ...x, conditions: narrow })).toThrow(/conditions/);
    tf.dispose([x.queries, x.queryPos, x.conditions, x.conditionMask, badMask, boolMask, narrow]);
  });
});
