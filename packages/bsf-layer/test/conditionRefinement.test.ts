import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { ConditionRefinement } from '@flowseg/bsf-layer';
import { conditionRefinement } from './reference.js';
import { expectClose, items, maskFromCounts, rand, seedWeights, validFromCounts } from './helpers.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const D = 8;
const H = 4;

function setup(counts: number[], t: number, n = 6) {
  const cr = new ConditionRefinement({ dim: D, numHeads: H });
  cr.ensureBuilt();
  seedWeights(cr, 31);
  const b = counts.length;
  return {
    cr,
    conditions: rand([b, t, D], 4) as tf.Tensor3D,
    conditionMask: maskFromCounts(counts, t),
    queries: rand([b, n, D], 5) as tf.Tensor3D,
    queryPos: rand([b, n, D], 6) as tf.Tensor3D,
  };
}

describe('ConditionRefinement (CR)', () => {
  it('equals C + MHA(C, Q_s + pos, Q_s) on real rows (ragged batch, random weights)', () => {
    const counts = [4, 2, 0];
    const { cr, ...x } = setup(counts, 4);
    const out = expectNoLeaks(() => cr.forward(x), { warmup: true });
    const w = cr.namedWeights();
    const [c, q, p] = [items(x.conditions), items(x.queries), items(x.queryPos)];
    const valid = validFromCounts(counts, 4);
    for (let b = 0; b < counts.length; b++) {
      expectClose(items(out)[b], conditionRefinement(w, '', H, c[b]!, valid[b]!, q[b]!, p[b]!));
    }
    tf.dispose([x.conditions, x.conditionMask, x.queries, x.queryPos, out]);
  });

  it('every slot real (read on wasm): C + MHA(C, Q_s + pos, Q_s) without the padding factor, fewer kernels', async () => {
    const { cr, ...x } = setup([3, 3], 3);
    const out = expectNoLeaks(() => cr.forward(x), { warmup: true });
    const w = cr.namedWeights();
    const [c, q, p] = [items(x.conditions), items(x.queries), items(x.queryPos)];
    for (let b = 0; b < 2; b++) expectClose(items(out)[b], conditionRefinement(w, '', H, c[b]!, [true, true, true], q[b]!, p[b]!));
    const ragged = { ...x, conditionMask: maskFromCounts([3, 2], 3) };
    const kernels = async (input: typeof x) => (await tf.profile(() => cr.forward(input))).kernels.length;
    expect(await kernels(x)).toBeLessThan(await kernels(ragged));
    tf.dispose([x.conditions, x.conditionMask, x.queries, x.queryPos, ragged.conditionMask, out]);
  });

  it('leaves padded rows exactly equal to their input; zero-condition items are unchanged', () => {
    const { cr, ...x } = setup([2, 0], 3);
    const out = items(cr.forward(x));
    const c = items(x.conditions);
    expect(out[0]![2]).toEqual(c[0]![2]);
    expect(out[1]).toEqual(c[1]);
    expect(out[0]![0]).not.toEqual(c[0]![0]);
    tf.dispose([x.conditions, x.conditionMask, x.queries, x.queryPos]);
  });

  it('T = 0 returns an empty new tensor', () => {
    const { cr, ...x } = setup([0], 0);
    const out = expectNoLeaks(() => cr.forward(x), { warmup: true });
    expect(out.shape).toEqual([1, 0, D]);
    tf.dispose([x.conditions, x.conditionMask, x.queries, x.queryPos, out]);
  });

  it('checks shapes, naming the argument', () => {
    const { cr, ...x } = setup([1], 2);
    const q = tf.ones([2, 6, D]) as tf.Tensor3D;
    expect(() => cr.forward({ ...x, queries: q })).toThrow(ShapeError);
    expect(() => cr.forward({ ...x, queries: q })).toThrow(/queries/);
    tf.dispose([x.conditions, x.conditionMask, x.queries, x.queryPos, q]);
  });
});
