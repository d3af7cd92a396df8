import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type DecoderLayerContext } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { BSFDecoderLayer } from '@flowseg/bsf-layer';
import { copyWeights, expectClose, items } from './helpers.js';
import { SIZES, disposeInputs, makeInputs, makeLayer, referenceOutputs } from './layerFixtures.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const VARIANTS = [
  { semanticRefinement: false, conditionRefinement: false },
  { semanticRefinement: true, conditionRefinement: false },
  { semanticRefinement: false, conditionRefinement: true },
  { semanticRefinement: true, conditionRefinement: true },
  { semanticRefinement: true, conditionRefinement: true, crSource: 'self_attn' as const },
];

function context(conditions: DecoderLayerContext['conditions']): DecoderLayerContext {
  return { layerIndex: 0, numLayers: 1, level: 0, training: false, conditions, extras: new Map() };
}

describe('BSFDecoderLayer', () => {
  it.each(VARIANTS)('equals the re-derived layer cross → SR → self → FFN → CR (%o)', (variant) => {
    const counts = [3, 1];
    const layer = makeLayer(variant);
    const x = makeInputs(counts, 3);
    const out = expectNoLeaks(() => {
      const r = layer.forward(x);
      return { q: r.queries, c: r.conditions!.conditions === x.conditions.conditions ? null : r.conditions!.conditions };
    }, { warmup: true });
    const opts = { sr: variant.semanticRefinement, cr: variant.conditionRefinement, crSource: variant.crSource };
    referenceOutputs(layer, x, counts, opts).forEach((ref, b) => {
      expectClose(items(out.q)[b], ref.queries);
      if (variant.conditionRefinement) expectClose(items(out.c!)[b], ref.conditions);
    });
    // Without CR the condition state passes through as the same object.
    expect(out.c === null).toBe(!variant.conditionRefinement);
    tf.dispose([out.q, out.c ?? []]);
    disposeInputs(x);
  });

  it('the two readings of Q_s give different conditions', () => {
    const a = makeLayer({ crSource: 'ffn' });
    const b = makeLayer({ crSource: 'self_attn' });
    const x = makeInputs([2], 2);
    const ca = a.forward(x).conditions!.conditions;
    const cb = b.forward(x).conditions!.conditions;
    expect(tf.max(tf.abs(tf.sub(ca, cb))).dataSync()[0]).toBeGreaterThan(1e-3);
    disposeInputs(x);
  });

  it('a switched-off part has no parameters', () => {
    const names = (o: object) => [...makeLayer(o).namedWeights().keys()];
    const base = names({ semanticRefinement: false, conditionRefinement: false });
    expect(base.every((n) => /^(cross_attn|self_attn|ffn)\./.test(n))).toBe(true);
    const sr = names({ conditionRefinement: false });
    const cr = names({ semanticRefinement: false });
    const full = names({});
    const D = SIZES.D;
    const count = (o: object) => makeLayer(o).countParams();
    expect(sr.filter((n) => !base.includes(n)).every((n) => n.startsWith('semantic_attn.'))).toBe(true);
    expect(cr.filter((n) => !base.includes(n)).every((n) => n.startsWith('condition_refinement.'))).toBe(true);
    expect(full).toEqual([...new Set([...sr, ...cr])].sort((p, q) => full.indexOf(p) - full.indexOf(q)));
    const base0 = count({ semanticRefinement: false, conditionRefinement: false });
    // SR: MHA 4(D²+D) + gate 2D·D + D. CR: MHA 4(D²+D).
    expect(count({ conditionRefinement: false }) - base0).toBe(4 * (D * D + D) + 2 * D * D + D);
    expect(count({ semanticRefinement: false }) - base0).toBe(4 * (D * D + D));
    expect(full.indexOf('semantic_attn.gate.kernel')).toBeGreaterThan(full.indexOf('cross_attn.norm.bias'));
  });

  it('padded garbage conditions (mask 0) never change results', () => {
    const layer = makeLayer();
    const x = makeInputs([2, 1], 2);
    const ref = layer.forward(x);
    // Append 3 rows of large garbage to every item, all masked out.
    const garbage = tf.mul(tf.randomUniform([2, 3, SIZES.D], -1, 1, 'float32', 9), 1e3);
    const padded = {
      ...x,
      conditions: {
        conditions: tf.concat([x.conditions.conditions, garbage], 1) as tf.Tensor3D,
        conditionMask: tf.concat([x.conditions.conditionMask, tf.zeros([2, 3])], 1) as tf.Tensor2D,
      },
    };
    const out = layer.forward(padded);
    expectClose(out.queries, ref.queries.arraySync(), 1e-6);
    const c = items(out.conditions!.conditions);
    const refC = items(ref.conditions!.conditions);
    expectClose(c.map((rows) => rows.slice(0, 2)), refC, 1e-6);
    // Garbage rows come back exactly as they went in.
    expect(c.map((rows) => rows.slice(2))).toEqual(items(garbage));
    disposeInputs(x);
  });

  it('a batch item with zero conditions: queries as without conditions, conditions untouched, no NaN (gradients too)', () => {
    const layer = makeLayer();
    const x = makeInputs([2, 0], 2);
    const out = layer.forward(x);
    const alone = layer.forward({
      queries: tf.slice(x.queries, [1, 0, 0], [1, -1, -1]),
      queryPos: tf.slice(x.queryPos, [1, 0, 0], [1, -1, -1]),
      memory: tf.slice(x.memory, [1, 0, 0], [1, -1, -1]),
      memoryPos: tf.slice(x.memoryPos, [1, 0, 0], [1, -1, -1]),
      attentionMask: tf.slice(x.attentionMask!, [1, 0, 0], [1, -1, -1]),
      conditions: null,
    });
    expectClose(items(out.queries)[1], items(alone.queries)[0], 1e-6);
    expect(items(out.conditions!.conditions)[1]).toEqual(items(x.conditions.conditions)[1]);
    expect((out.queries.arraySync() as number[][][]).flat(2).every(Number.isFinite)).toBe(true);
    const { grads } = tf.variableGrads(() => {
      const r = layer.forward(x);
      return tf.add(tf.sum(tf.square(r.queries)), tf.sum(tf.square(r.conditions!.conditions))) as tf.Scalar;
    });
    for (const g of Object.values(grads)) expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
    disposeInputs(x);
  });

  it('conditions === null and a 0-sized conditions axis both act as the standard layer', () => {
    const layer = makeLayer();
    const baseline = makeLayer({ semanticRefinement: false, conditionRefinement: false });
    copyWeights(layer, baseline);
    const x = makeInputs([1, 1], 0);
    const want = baseline.forward({ ...x, conditions: null }).queries.arraySync();
    const none = expectNoLeaks(() => layer.forward({ ...x, conditions: null }), { warmup: true });
    expect(none.conditions).toBeNull();
    expectClose(none.queries, want, 1e-6);
    const empty = expectNoLeaks(() => layer.forward(x).queries, { warmup: true });
    expectClose(empty, want, 1e-6);
    expect(layer.forward(x).conditions).toBe(x.conditions); // unchanged state object
    disposeInputs(x);
  });

  it('forwardLayer carries C⁽ˡ⁾ through the context across layers inside one tidy, leak-free, never disposing replaced state', () => {
    const layers = [makeLayer({}, 1), makeLayer({}, 2), makeLayer({ conditionRefinement: false }, 3)];
    const x = makeInputs([2, 1], 2);
    const initial = x.conditions;
    const run = () =>
      tf.tidy(() => {
        const ctx = context(initial);
        let q = x.queries;
        const seen: tf.Tensor[] = [];
        for (const layer of layers) {
          q = layer.forwardLayer({ ...x, queries: q }, ctx);
          seen.push(ctx.conditions!.conditions);
        }
        // Every state handed out stays alive until the scope ends.
        expect(seen.every((t) => !t.isDisposed)).toBe(true);
        expect(ctx.conditions!.conditionMask).toBe(initial.conditionMask);
        return { q, c: ctx.conditions!.conditions };
      });
    const out = expectNoLeaks(run, { warmup: true });
    expect(initial.conditions.isDisposed).toBe(false);
    // Same as chaining forward() by hand.
    let q = x.queries;
    let state = initial;
    for (const layer of layers) {
      const r = layer.forward({ ...x, queries: q, conditions: state });
      q = r.queries;
      state = r.conditions!;
    }
    expectClose(out.q, q.arraySync(), 0);
    expectClose(out.c, state.conditions.arraySync(), 0);
    disposeInputs(x);
  });

  it('is a tf.layers.Layer: apply() runs it on [queries, queryPos, memory, memoryPos, conditions, conditionMask]', () => {
    const layer = makeLayer();
    const x = makeInputs([2], 2);
    const y = layer.apply([x.queries, x.queryPos, x.memory, x.memoryPos, x.conditions.conditions, x.conditions.conditionMask]) as tf.Tensor;
    const want = layer.forward({ ...x, attentionMask: null }).queries;
    expectClose(y, want.arraySync(), 0);
    expect(layer).toBeInstanceOf(BSFDecoderLayer);
    expect(layer.hiddenDim).toBe(SIZES.D);
    disposeInputs(x);
  });
});
