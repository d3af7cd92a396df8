import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ValueError, selectBackend } from '@flowseg/core';
import { BSFDecoderLayer, ConditionRefinement, SemanticCrossAttention, SemanticGate, type BSFLayerOptions } from '@flowseg/bsf-layer';
import { exportOnnx, exportOnnxGraph } from '../src/index.js';
import { expectOutputsClose, maskOf, randn, randomBool, randomizeWeights, session } from './support.js';

const D = 16;
const H = 4;

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Conditions `[b, t, D]` with a ragged mask: item 0 all real but the last slot, item 1 none real (when b > 1), the rest alternate. */
function conditionState(b: number, t: number, seed: number): { conditions: tf.Tensor3D; conditionMask: tf.Tensor2D } {
  const rows = Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, s) => (i === 1 ? 0 : i === 0 ? (s < t - 1 || t === 1 ? 1 : 0) : (s + i) % 2)));
  return { conditions: randn([b, t, D], seed) as tf.Tensor3D, conditionMask: maskOf(rows) };
}

describe('SemanticGate exporter', () => {
  it('equals forward (fused and gate), with the kernel randomized so the gate varies', async () => {
    const gate = new SemanticGate({ dim: D });
    randomizeWeights(gate, 1);
    const s = await session(exportOnnx(gate, { outputs: ['fused', 'gate'] }));
    const [visual, semantic] = [randn([2, 5, D], 1), randn([2, 5, D], 2)] as tf.Tensor3D[];
    const ref = gate.forward({ visual: visual!, semantic: semantic! });
    const out = await expectOutputsClose(s, { visual: visual!, semantic: semantic! }, { fused: ref.fused, gate: ref.gate });
    tf.dispose([visual!, semantic!, ref.fused, ref.gate, ...Object.values(out)]);
    await s.release();
    gate.dispose();
  });
});

describe('SemanticCrossAttention exporter', () => {
  it('equals forward with ragged conditions; an item without real conditions keeps Q_vis exactly', async () => {
    const sr = new SemanticCrossAttention({ dim: D, numHeads: H, seed: 2 });
    randomizeWeights(sr, 2);
    const s = await session(
      exportOnnx(sr, { inputs: ['queries', 'conditions', 'conditionMask', 'queryPos'], outputs: ['fused', 'semantic', 'gate'] }),
    );
    for (const [b, n, t, seed] of [[3, 5, 3, 10], [2, 2, 1, 20]] as const) {
      const queries = randn([b, n, D], seed) as tf.Tensor3D;
      const queryPos = randn([b, n, D], seed + 1) as tf.Tensor3D;
      const { conditions, conditionMask } = conditionState(b, t, seed + 2);
      const ref = sr.forward({ queries, queryPos, conditions, conditionMask });
      const out = await expectOutputsClose(s, { queries, queryPos, conditions, conditionMask }, { fused: ref.fused, semantic: ref.semantic, gate: ref.gate });
      // Item 1 has no real condition: fused is Q_vis bit for bit.
      const fused1 = tf.slice(out['fused']!, [1, 0, 0], [1, n, D]);
      const q1 = tf.slice(queries, [1, 0, 0], [1, n, D]);
      expect(Array.from(fused1.dataSync())).toEqual(Array.from(q1.dataSync()));
      tf.dispose([queries, queryPos, conditions, conditionMask, ref.fused, ref.semantic, ref.gate, fused1, q1, ...Object.values(out)]);
    }
    await s.release();
    sr.dispose();
  });
});

describe('ConditionRefinement exporter', () => {
  it('equals forward; padded condition rows pass through exactly', async () => {
    const cr = new ConditionRefinement({ dim: D, numHeads: H, seed: 3 });
    randomizeWeights(cr, 3);
    const s = await session(exportOnnx(cr, { inputs: ['conditions', 'conditionMask', 'queries', 'queryPos'] }));
    const { conditions, conditionMask } = conditionState(3, 4, 5);
    const queries = randn([3, 6, D], 6) as tf.Tensor3D;
    const queryPos = randn([3, 6, D], 7) as tf.Tensor3D;
    const ref = cr.forward({ conditions, conditionMask, queries, queryPos });
    const out = await expectOutputsClose(s, { conditions, conditionMask, queries, queryPos }, { output: ref });
    const item1 = tf.slice(out['output']!, [1, 0, 0], [1, 4, D]);
    const in1 = tf.slice(conditions, [1, 0, 0], [1, 4, D]);
    expect(Array.from(item1.dataSync())).toEqual(Array.from(in1.dataSync()));
    tf.dispose([conditions, conditionMask, queries, queryPos, ref, item1, in1, ...Object.values(out)]);
    await s.release();
    cr.dispose();
  });
});

describe('BSFDecoderLayer exporter', () => {
  const combos: Array<[string, BSFLayerOptions]> = [
    ['baseline (no SR, no CR)', { semanticRefinement: false, conditionRefinement: false }],
    ['SR only', { semanticRefinement: true, conditionRefinement: false }],
    ['CR only, reading the FFN output', { semanticRefinement: false, conditionRefinement: true, crSource: 'ffn' }],
    ['CR only, reading the self-attention output', { semanticRefinement: false, conditionRefinement: true, crSource: 'self_attn' }],
    ['SR + CR (ffn)', { semanticRefinement: true, conditionRefinement: true, crSource: 'ffn' }],
    ['SR + CR (self_attn), gate bias −1', { semanticRefinement: true, conditionRefinement: true, crSource: 'self_attn', gateBiasInit: -1 }],
  ];
  for (const [title, options] of combos) {
    it(`${title}: queries and conditions equal forward, masked attention, ragged conditions, two sizes from one model`, async () => {
      const layer = new BSFDecoderLayer({ hiddenDim: D, numHeads: H, ffnDim: 24, seed: 4, ...options });
      randomizeWeights(layer, 4);
      const bytes = exportOnnx(layer, {
        inputs: ['queries', 'queryPos', 'memory', 'memoryPos', 'attentionMask', 'conditions', 'conditionMask'],
        outputs: ['queries', 'conditions'], // as queries_out, conditions_out: the inputs have those names
      });
      const s = await session(bytes);
      for (const [b, n, p, t, seed] of [[3, 5, 7, 3, 30], [1, 4, 9, 2, 40]] as const) {
        const [queries, queryPos] = [randn([b, n, D], seed), randn([b, n, D], seed + 1)] as tf.Tensor3D[];
        const [memory, memoryPos] = [randn([b, p, D], seed + 2), randn([b, p, D], seed + 3)] as tf.Tensor3D[];
        const attentionMask = randomBool([b, n, p], seed + 4, 0.4) as tf.Tensor3D;
        const state = conditionState(b, t, seed + 5);
        const ref = layer.forward({ queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos!, attentionMask, conditions: state });
        const feeds = { queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos!, attentionMask, ...state };
        const out = await expectOutputsClose(s, feeds, { queries_out: ref.queries, conditions_out: ref.conditions!.conditions });
        const refined = ref.conditions!.conditions !== state.conditions;
        expect(refined).toBe(options.conditionRefinement !== false);
        tf.dispose([...Object.values(feeds), ref.queries, ...(refined ? [ref.conditions!.conditions] : []), ...Object.values(out)]);
      }
      await s.release();
      layer.dispose();
    });
  }

  it('conditions without their mask (or the reverse) is refused', () => {
    const layer = new BSFDecoderLayer({ hiddenDim: D, numHeads: H, ffnDim: 24, seed: 6 });
    expect(() => exportOnnx(layer, { inputs: ['queries', 'queryPos', 'memory', 'memoryPos', 'conditions'] })).toThrow(
      /conditions and conditionMask go together/,
    );
    expect(() => exportOnnx(layer, { inputs: ['queries', 'queryPos', 'memory', 'memoryPos', 'conditionMask'] })).toThrow(ValueError);
    layer.dispose();
  });

  it('without conditions it is the standard layer (SR and CR skipped), as forward with conditions null', async () => {
    const layer = new BSFDecoderLayer({ hiddenDim: D, numHeads: H, ffnDim: 24, seed: 5 });
    randomizeWeights(layer, 5);
    const graph = exportOnnxGraph(layer, { inputs: ['queries', 'queryPos', 'memory', 'memoryPos'] });
    // SR and CR weights are not in a graph that cannot use them.
    const names = graph.toModelProto().graph.initializers.map((i) => i.name);
    expect(names.some((n) => n.startsWith('semantic_attn') || n.startsWith('condition_refinement'))).toBe(false);
    const s = await session(graph.serialize());
    const [queries, queryPos, memory, memoryPos] = [randn([2, 3, D], 1), randn([2, 3, D], 2), randn([2, 6, D], 3), randn([2, 6, D], 4)] as tf.Tensor3D[];
    const ref = layer.forward({ queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos!, attentionMask: null, conditions: null });
    const out = await expectOutputsClose(s, { queries: queries!, queryPos: queryPos!, memory: memory!, memoryPos: memoryPos! }, { queries_out: ref.queries });
    tf.dispose([queries!, queryPos!, memory!, memoryPos!, ref.queries, ...Object.values(out)]);
    await s.release();
    layer.dispose();
  });
});
