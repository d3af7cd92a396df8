import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { LlmConditionAdapter } from '@flowseg/llm-condition-adapter';
import { E, IDS, P, PAD, S, hiddenStates, maxAbsDiff, meanOf, mlp } from './helpers.js';

// Two phrases and two SEGs in item 0, a padded item 1 with one phrase straddling padding.
const ROWS = [
  [P, 11, 12, E, S, P, 13, E, S],
  [P, 14, PAD, 15, E, S, PAD, PAD, PAD],
];
const CONTENT = [[[1, 2], [6]], [[1, 3]]];
const SEGS = [[4, 8], [5]];
const results = new Map<string, { conditions: number[][][]; segEmbeddings: number[][][]; gradRows: number[][] }>();

describe.each(['cpu', 'wasm'] as const)('on %s', (backend) => {
  it('forward matches a re-derivation, gradients reach exactly the phrase/SEG tokens, no leaks', async () => {
    const sel = await selectBackend(backend);
    expect(sel.backend).toBe(backend);
    const { H, tensor } = hiddenStates(2, 9, 4, 5);
    for (const pooling of ['mean', 'attention'] as const) {
      const a = new LlmConditionAdapter({
        llmDim: 4, decoderDim: 3, projectionHiddenDim: 16, specialTokens: IDS, padId: PAD, seed: 1, pooling,
      });
      a.ensureBuilt();
      const r = expectNoLeaks(() => a.forward({ tokenIds: ROWS, hiddenStates: tensor }), { warmup: true });
      const w = a.namedWeights();
      const get = (k: string) => w.get(`projection.${k}`)!.read().arraySync();
      const [w1, b1, w2, b2] = [get('linear1.kernel'), get('linear1.bias'), get('linear2.kernel'), get('linear2.bias')] as [
        number[][], number[], number[][], number[],
      ];
      const cond = r.conditions.arraySync();
      const seg = r.segEmbeddings.arraySync();
      // Zero pooling scores at init: attention pooling equals mean pooling.
      CONTENT.forEach((spans, b) => spans.forEach((pos, s) => {
        expect(maxAbsDiff(cond[b]![s], mlp(meanOf(H[b]!, pos), w1, b1, w2, b2))).toBeLessThan(1e-5);
      }));
      SEGS.forEach((pos, b) => pos.forEach((t, k) => {
        expect(maxAbsDiff(seg[b]![k], mlp(H[b]![t]!, w1, b1, w2, b2))).toBeLessThan(1e-5);
      }));
      expect(cond[1]![1]!.every((v) => v === 0)).toBe(true);
      expect(seg[1]![1]!.every((v) => v === 0)).toBe(true);

      const [g] = tf.grads((h: tf.Tensor) => {
        const out = a.forward({ tokenIds: ROWS, hiddenStates: h as tf.Tensor3D });
        return tf.add(tf.sum(out.conditions), tf.sum(tf.square(out.segEmbeddings)));
      })([tensor]);
      const gradRows = tf.sum(tf.abs(g!), -1).arraySync() as number[][];
      const used = [new Set([1, 2, 6, 4, 8]), new Set([1, 3, 5])];
      gradRows.forEach((row, b) => row.forEach((v, t) => {
        if (used[b]!.has(t)) expect(v, `item ${b} token ${t}`).toBeGreaterThan(0);
        else expect(v, `item ${b} token ${t}`).toBe(0);
      }));
      if (pooling === 'mean') results.set(backend, { conditions: cond, segEmbeddings: seg, gradRows });
      tf.dispose([r.conditions, r.conditionMask, r.segEmbeddings, r.segMask, r.segConditionMask, g!]);
      a.dispose();
    }
    tensor.dispose();
  });
});

describe('cpu vs wasm', () => {
  it('agree on outputs and gradients', () => {
    const cpu = results.get('cpu');
    const wasm = results.get('wasm');
    expect(cpu && wasm).toBeTruthy();
    expect(maxAbsDiff(cpu!.conditions, wasm!.conditions)).toBeLessThan(1e-5);
    expect(maxAbsDiff(cpu!.segEmbeddings, wasm!.segEmbeddings)).toBeLessThan(1e-5);
    expect(maxAbsDiff(cpu!.gradRows, wasm!.gradRows)).toBeLessThan(1e-4);
  });
});
