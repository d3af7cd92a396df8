import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend, type ConditionState } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import {
  LlmConditionAdapter,
  LlmProjection,
  NestedPhraseError,
  buildPoolingPlan,
  parseSpecialTokens,
  type LlmConditionAdapterConfig,
  type LlmConditions,
} from '@flowseg/llm-condition-adapter';
import { E, IDS, P, PAD, S, hiddenStates, maxAbsDiff, meanOf, mlp } from './helpers.js';

// A batch exercising several phrases, several SEGs, a padding hole inside a phrase, right
// padding, and an item with no phrase.
//                0  1   2   3  4  5  6   7  8  9
const ROWS = [
  [P, 11, 12, E, S, P, 13, E, S, PAD],
  [P, 14, PAD, 15, E, 16, S, PAD, PAD, PAD],
  [20, 21, 22, S, 23, 24, 25, 26, 27, 28],
];
const B = 3;
const T = 10;
// Content (mean pooling, tags excluded) and SEG positions per item, written by hand.
const CONTENT = [[[1, 2], [6]], [[1, 3]], []];
const SEGS = [[4, 8], [6], [3]];

function adapter(extra: Partial<LlmConditionAdapterConfig> = {}): LlmConditionAdapter {
  return new LlmConditionAdapter({ llmDim: 4, decoderDim: 6, projectionHiddenDim: 5, specialTokens: IDS, padId: PAD, seed: 7, ...extra });
}

function weightsOf(layer: LlmConditionAdapter, prefix: string) {
  const w = layer.namedWeights();
  const get = (k: string) => w.get(prefix + k)!.read().arraySync();
  return [get('linear1.kernel'), get('linear1.bias'), get('linear2.kernel'), get('linear2.bias')] as [
    number[][],
    number[],
    number[][],
    number[],
  ];
}

function disposeResult(r: object): void {
  tf.dispose(Object.values(r).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('LlmConditionAdapter: pooling values', () => {
  it('mean pooling equals hand-computed means (literal values)', () => {
    // H[b, t] = [t, 10·b + t]
    const H = tf.tensor3d(
      Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => [t, 10 * b + t])),
    );
    const a = new LlmConditionAdapter({ llmDim: 2, decoderDim: 3, specialTokens: IDS, padId: PAD });
    const r = a.pool({ tokenIds: ROWS, hiddenStates: H });
    expect(r.phraseStates.shape).toEqual([3, 2, 2]);
    expect(r.phraseStates.arraySync()).toEqual([
      [[1.5, 1.5], [6, 6]],
      [[2, 12], [0, 0]], // content 1 and 3: the padding hole at 2 is skipped
      [[0, 0], [0, 0]],
    ]);
    expect(r.segStates.arraySync()).toEqual([
      [[4, 4], [8, 8]],
      [[6, 16], [0, 0]],
      [[3, 23], [0, 0]],
    ]);
    disposeResult(r);
    H.dispose();
    a.dispose();
  });

  it('mean pooling with and without tags matches a re-derivation on random states', () => {
    const { H, tensor } = hiddenStates(B, T, 4, 11);
    for (const includeTags of [false, true]) {
      const a = adapter({ includeTags });
      const r = a.pool({ tokenIds: ROWS, hiddenStates: tensor });
      const parsed = parseSpecialTokens(ROWS, { specialTokens: IDS, padId: PAD });
      const expected = parsed.items.map((it, b) =>
        [0, 1].map((s) => {
          const span = it.spans[s];
          if (!span) return [0, 0, 0, 0];
          return meanOf(H[b]!, includeTags ? [span.open, ...span.content, span.close] : span.content);
        }),
      );
      expect(parsed.items.map((it) => it.spans.map((s) => s.content))).toEqual(CONTENT);
      expect(maxAbsDiff(r.phraseStates.arraySync(), expected)).toBeLessThan(1e-6);
      disposeResult(r);
      a.dispose();
    }
    tensor.dispose();
  });

  it('last-token pooling picks the last content token, or </p> with includeTags', () => {
    const { H, tensor } = hiddenStates(B, T, 4, 12);
    const cases: Array<[boolean, number[][]]> = [
      [false, [[2, 6], [3]]], // last content token; item 1 skips the padding at 2 anyway
      [true, [[3, 7], [4]]], // the </p> tokens
    ];
    for (const [includeTags, last] of cases) {
      const a = adapter({ pooling: 'last', includeTags });
      const r = a.pool({ tokenIds: ROWS, hiddenStates: tensor });
      const expected = [
        [H[0]![last[0]![0]!]!, H[0]![last[0]![1]!]!],
        [H[1]![last[1]![0]!]!, [0, 0, 0, 0]],
        [[0, 0, 0, 0], [0, 0, 0, 0]],
      ];
      expect(maxAbsDiff(r.phraseStates.arraySync(), expected)).toBe(0);
      disposeResult(r);
      a.dispose();
    }
    tensor.dispose();
  });

  it('attention pooling matches a re-derivation of softmax(h·w) over each phrase', () => {
    const { H, tensor } = hiddenStates(B, T, 4, 13);
    const a = adapter({ pooling: 'attention' });
    const w = [0.9, -1.3, 2.1, 0.4];
    a.namedWeights().get('pool_score')!.write(tf.tensor1d(w));
    const r = a.pool({ tokenIds: ROWS, hiddenStates: tensor });
    const expected = CONTENT.map((spans, b) =>
      [0, 1].map((s) => {
        const pos = spans[s];
        if (!pos) return [0, 0, 0, 0];
        const scores = pos.map((t) => H[b]![t]!.reduce((acc, v, k) => acc + v * w[k]!, 0));
        const m = Math.max(...scores);
        const ex = scores.map((x) => Math.exp(x - m));
        const z = ex.reduce((x, y) => x + y, 0);
        return [0, 1, 2, 3].map((k) => pos.reduce((acc, t, i) => acc + (ex[i]! / z) * H[b]![t]![k]!, 0));
      }),
    );
    expect(maxAbsDiff(r.phraseStates.arraySync(), expected)).toBeLessThan(1e-5);
    // SEG states are unaffected by the pooling choice.
    expect(maxAbsDiff(r.segStates.arraySync()[0]![1], H[0]![8])).toBe(0);
    disposeResult(r);
    a.dispose();
    tensor.dispose();
  });

  it('attention pooling starts as mean pooling (zero scores)', () => {
    const { tensor } = hiddenStates(B, T, 4, 14);
    const att = adapter({ pooling: 'attention' });
    const mean = adapter();
    const ra = att.pool({ tokenIds: ROWS, hiddenStates: tensor });
    const rm = mean.pool({ tokenIds: ROWS, hiddenStates: tensor });
    expect(maxAbsDiff(ra.phraseStates.arraySync(), rm.phraseStates.arraySync())).toBeLessThan(1e-6);
    [ra, rm].forEach(disposeResult);
    att.dispose();
    mean.dispose();
    tensor.dispose();
  });
});

describe('LlmConditionAdapter: outputs, masks and padding', () => {
  it('forward = φ_llm(pooled) with one shared MLP; padded rows exactly 0; masks line up', () => {
    const { H, tensor } = hiddenStates(B, T, 4, 21);
    const a = adapter();
    const r = a.forward({ tokenIds: ROWS, hiddenStates: tensor });
    expect(r.conditions.shape).toEqual([3, 2, 6]);
    expect(r.segEmbeddings.shape).toEqual([3, 2, 6]);
    expect(r.conditionMask.dtype).toBe('float32');
    expect(r.conditionMask.arraySync()).toEqual([[1, 1], [1, 0], [0, 0]]);
    expect(r.segMask.arraySync()).toEqual([[1, 1], [1, 0], [1, 0]]);
    // SEG 0 of item 0 owns phrase 0 only? No: phrases 0 (closes at 3 < 4) → SEG 0; phrase 1 (closes at 7 < 8) → SEG 1.
    // Item 1: its SEG owns its phrase. Item 2: no phrase at all → zero row.
    expect(r.segConditionMask.arraySync()).toEqual([
      [[1, 0], [0, 1]],
      [[1, 0], [0, 0]],
      [[0, 0], [0, 0]],
    ]);
    expect(r.segPositions).toEqual(SEGS);
    expect(r.spans.map((s) => s.map((x) => [x.open, x.close]))).toEqual([[[0, 3], [5, 7]], [[0, 4]], []]);
    const [w1, b1, w2, b2] = weightsOf(a, 'projection.');
    const cond = r.conditions.arraySync();
    const seg = r.segEmbeddings.arraySync();
    const zero = new Array(6).fill(0);
    CONTENT.forEach((spans, b) =>
      [0, 1].forEach((s) => {
        const want = spans[s] ? mlp(meanOf(H[b]!, spans[s]!), w1, b1, w2, b2) : zero;
        expect(maxAbsDiff(cond[b]![s], want)).toBeLessThan(1e-5);
        const t = SEGS[b]![s];
        expect(maxAbsDiff(seg[b]![s], t === undefined ? zero : mlp(H[b]![t]!, w1, b1, w2, b2))).toBeLessThan(1e-5);
      }),
    );
    // Exactly zero, not merely small.
    expect(cond[1]![1]!.every((v) => v === 0)).toBe(true);
    expect(cond[2]!.flat().every((v) => v === 0)).toBe(true);
    expect(seg[2]![1]!.every((v) => v === 0)).toBe(true);
    // φ(0) = bias path ≠ 0, so the zeros come from masking, not from pooling alone.
    expect(mlp([0, 0, 0, 0], w1, b1, w2, b2).some((v) => v !== 0)).toBe(true);
    // Structurally a ConditionState for the decoder.
    const state: ConditionState = r;
    expect(state.conditions).toBe(r.conditions);
    disposeResult(r);
    a.dispose();
    tensor.dispose();
  });

  it('left padding by attention mask (tensor inputs) gives the same rows as unpadded', () => {
    const { tensor: Hs } = hiddenStates(1, 5, 4, 31);
    const a = adapter({ padId: null });
    const plain = a.forward({ tokenIds: [[P, 11, 12, E, S]], hiddenStates: Hs });
    // Same sequence behind 3 left-padding positions holding arbitrary ids (even tags).
    const padded = tf.concat([tf.randomNormal([1, 3, 4], 0, 1, 'float32', 3), Hs], 1) as tf.Tensor3D;
    const ids = tf.tensor2d([[P, 99, E, P, 11, 12, E, S]], [1, 8], 'int32');
    const mask = tf.tensor2d([[0, 0, 0, 1, 1, 1, 1, 1]], [1, 8], 'int32');
    const r = a.forward({ tokenIds: ids, hiddenStates: padded, attentionMask: mask });
    expect(r.spans[0]).toEqual([{ open: 3, close: 6, content: [4, 5], seg: 0 }]);
    expect(maxAbsDiff(r.conditions.arraySync(), plain.conditions.arraySync())).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.segEmbeddings.arraySync(), plain.segEmbeddings.arraySync())).toBeLessThan(1e-6);
    [plain, r].forEach(disposeResult);
    tf.dispose([Hs, padded, ids, mask]);
    a.dispose();
  });

  it('no phrase anywhere: conditions axis is 0; no SEG anywhere: targets axis is 0', () => {
    const { tensor } = hiddenStates(2, 4, 4, 41);
    const a = adapter();
    const noSpans = a.forward({ tokenIds: [[5, 6, S, 7], [S, 8, 9, S]], hiddenStates: tensor });
    expect(noSpans.conditions.shape).toEqual([2, 0, 6]);
    expect(noSpans.conditionMask.shape).toEqual([2, 0]);
    expect(noSpans.segConditionMask.shape).toEqual([2, 2, 0]);
    expect(noSpans.segEmbeddings.shape).toEqual([2, 2, 6]);
    expect(noSpans.segMask.arraySync()).toEqual([[1, 0], [1, 1]]);
    const noSeg = a.forward({ tokenIds: [[P, 5, E, 7], [8, P, 9, E]], hiddenStates: tensor });
    expect(noSeg.segEmbeddings.shape).toEqual([2, 0, 6]);
    expect(noSeg.segMask.shape).toEqual([2, 0]);
    expect(noSeg.conditions.shape).toEqual([2, 1, 6]);
    const none = a.forward({ tokenIds: [[5, 6, 7, 8], [8, 9, 10, 11]], hiddenStates: tensor });
    expect([none.conditions.shape, none.segEmbeddings.shape, none.segConditionMask.shape]).toEqual([
      [2, 0, 6],
      [2, 0, 6],
      [2, 0, 0],
    ]);
    const sep = adapter({ separateProjections: true });
    const sepNone = sep.forward({ tokenIds: [[5, 6, S, 7], [S, 8, 9, S]], hiddenStates: tensor });
    expect(sepNone.conditions.shape).toEqual([2, 0, 6]);
    [noSpans, noSeg, none, sepNone].forEach(disposeResult);
    tensor.dispose();
    a.dispose();
    sep.dispose();
  });

  it('separate projections use their own weights for C and S', () => {
    const { H, tensor } = hiddenStates(B, T, 4, 51);
    const a = adapter({ separateProjections: true });
    expect([...a.namedWeights().keys()]).toEqual([
      'condition_projection.linear1.kernel',
      'condition_projection.linear1.bias',
      'condition_projection.linear2.kernel',
      'condition_projection.linear2.bias',
      'seg_projection.linear1.kernel',
      'seg_projection.linear1.bias',
      'seg_projection.linear2.kernel',
      'seg_projection.linear2.bias',
    ]);
    const r = a.forward({ tokenIds: ROWS, hiddenStates: tensor });
    const [cw1, cb1, cw2, cb2] = weightsOf(a, 'condition_projection.');
    const [sw1, sb1, sw2, sb2] = weightsOf(a, 'seg_projection.');
    expect(maxAbsDiff(r.conditions.arraySync()[0]![0], mlp(meanOf(H[0]!, [1, 2]), cw1, cb1, cw2, cb2))).toBeLessThan(1e-5);
    expect(maxAbsDiff(r.segEmbeddings.arraySync()[0]![0], mlp(H[0]![4]!, sw1, sb1, sw2, sb2))).toBeLessThan(1e-5);
    expect(maxAbsDiff(cw1, sw1)).toBeGreaterThan(0);
    disposeResult(r);
    a.dispose();
    tensor.dispose();
  });

  it('shared projection: weight names, LISA default hidden width, seeded init', () => {
    const a = new LlmConditionAdapter({ llmDim: 8, decoderDim: 4, specialTokens: IDS, seed: 3 });
    const names = [...a.namedWeights().entries()].map(([k, v]) => `${k}:${v.shape.join('x')}`);
    expect(names).toEqual(['projection.linear1.kernel:8x8', 'projection.linear1.bias:8', 'projection.linear2.kernel:8x4', 'projection.linear2.bias:4']);
    const same = new LlmConditionAdapter({ llmDim: 8, decoderDim: 4, specialTokens: IDS, seed: 3 });
    const other = new LlmConditionAdapter({ llmDim: 8, decoderDim: 4, specialTokens: IDS, seed: 4 });
    const vals = (l: LlmConditionAdapter) => [...l.namedWeights().values()].map((v) => Array.from(v.read().dataSync()));
    expect(vals(same)).toEqual(vals(a));
    expect(maxAbsDiff(vals(other), vals(a))).toBeGreaterThan(0);
    const att = new LlmConditionAdapter({ llmDim: 8, decoderDim: 4, specialTokens: IDS, pooling: 'attention' });
    expect([...att.namedWeights().keys()]).toContain('pool_score');
    [a, same, other, att].forEach((l) => l.dispose());
  });

  it('dropout acts in training only and keeps padded rows at 0', () => {
    const { tensor } = hiddenStates(B, T, 4, 61);
    const a = adapter({ dropout: 0.5 });
    const evalOut = a.forward({ tokenIds: ROWS, hiddenStates: tensor });
    const evalAgain = a.forward({ tokenIds: ROWS, hiddenStates: tensor });
    const train = a.forward({ tokenIds: ROWS, hiddenStates: tensor, training: true });
    expect(maxAbsDiff(evalOut.conditions.arraySync(), evalAgain.conditions.arraySync())).toBe(0);
    expect(maxAbsDiff(evalOut.conditions.arraySync(), train.conditions.arraySync())).toBeGreaterThan(0);
    expect(train.conditions.arraySync()[2]!.flat().every((v) => v === 0)).toBe(true);
    [evalOut, evalAgain, train].forEach(disposeResult);
    a.dispose();
    tensor.dispose();
  });

  it('the pooling plan builds the documented matrices', () => {
    const parsed = parseSpecialTokens([[P, 11, 12, E, S]], { specialTokens: IDS });
    const mean = buildPoolingPlan(parsed);
    expect(Array.from(mean.spanWeights)).toEqual([0, 0.5, 0.5, 0, 0]);
    expect(Array.from(mean.segSelection)).toEqual([0, 0, 0, 0, 1]);
    expect(Array.from(buildPoolingPlan(parsed, { pooling: 'last', includeTags: true }).spanWeights)).toEqual([0, 0, 0, 1, 0]);
    expect(Array.from(buildPoolingPlan(parsed, { pooling: 'attention', tokens: 6 }).spanWeights)).toEqual([0, 1, 1, 0, 0, 0]);
    expect(() => buildPoolingPlan(parsed, { tokens: 4 })).toThrow(ValueError);
  });
});

describe('LlmConditionAdapter: gradients', () => {
  function loss(r: LlmConditions): tf.Scalar {
    const wc = tf.randomNormal(r.conditions.shape, 0, 1, 'float32', 5);
    const ws = tf.randomNormal(r.segEmbeddings.shape, 0, 1, 'float32', 6);
    return tf.add(tf.sum(tf.mul(r.conditions, wc)), tf.sum(tf.mul(r.segEmbeddings, ws)));
  }

  for (const [pooling, includeTags] of [['mean', false], ['mean', true], ['last', false], ['attention', false]] as const) {
    it(`${pooling}${includeTags ? ' (tags)' : ''}: gradients reach every φ_llm weight and the hidden states exactly at phrase/SEG tokens`, () => {
      const { tensor } = hiddenStates(B, T, 4, 71);
      // A wide hidden layer, so that no phrase row has every ReLU switched off by chance.
      const a = adapter({ pooling, includeTags, projectionHiddenDim: 32 });
      a.ensureBuilt(); // variableGrads collects the variables that exist before it runs f
      if (pooling === 'attention') a.namedWeights().get('pool_score')!.write(tf.tensor1d([0.5, -0.2, 0.3, 0.1]));
      const { grads } = tf.variableGrads(() => loss(a.forward({ tokenIds: ROWS, hiddenStates: tensor })));
      const names = [...a.namedWeights().keys()];
      expect(names.length).toBe(pooling === 'attention' ? 5 : 4);
      for (const [name, v] of a.namedWeights()) {
        const g = grads[v.originalName ?? v.name] ?? grads[v.name];
        expect(g, name).toBeDefined();
        expect(tf.max(tf.abs(g!)).dataSync()[0], name).toBeGreaterThan(0);
      }
      tf.dispose(Object.values(grads));

      const [gH] = tf.grads((h: tf.Tensor) => loss(a.forward({ tokenIds: ROWS, hiddenStates: h as tf.Tensor3D })))([tensor]);
      const rowNorms = tf.sum(tf.abs(gH!), -1).arraySync() as number[][];
      const parsed = parseSpecialTokens(ROWS, { specialTokens: IDS, padId: PAD });
      parsed.items.forEach((it, b) => {
        const used = new Set<number>(it.segPositions);
        for (const span of it.spans) {
          if (pooling === 'last') used.add(includeTags ? span.close : span.content[span.content.length - 1]!);
          else for (const t of includeTags ? [span.open, ...span.content, span.close] : span.content) used.add(t);
        }
        for (let t = 0; t < T; t++) {
          if (used.has(t)) expect(rowNorms[b]![t], `item ${b} token ${t}`).toBeGreaterThan(0);
          else expect(rowNorms[b]![t], `item ${b} token ${t}`).toBe(0);
        }
      });
      gH!.dispose();
      tensor.dispose();
      a.dispose();
    });
  }
});

describe('LlmConditionAdapter: memory', () => {
  it('forward, pool, tensor inputs and empty axes leak nothing', () => {
    const { tensor } = hiddenStates(B, T, 4, 81);
    const ids = tf.tensor2d(ROWS, [B, T], 'int32');
    for (const cfg of [{}, { pooling: 'attention' as const }, { separateProjections: true }]) {
      const a = adapter(cfg);
      disposeResult(expectNoLeaks(() => a.forward({ tokenIds: ROWS, hiddenStates: tensor }), { warmup: true }));
      disposeResult(expectNoLeaks(() => a.forward({ tokenIds: ids, hiddenStates: tensor, training: true })));
      disposeResult(expectNoLeaks(() => a.pool({ tokenIds: ROWS, hiddenStates: tensor })));
      const empty = ROWS.map(() => new Array(T).fill(9));
      disposeResult(expectNoLeaks(() => a.forward({ tokenIds: empty, hiddenStates: tensor })));
      a.dispose();
    }
    tf.dispose([tensor, ids]);
  });

  it('a rejected call leaks nothing', () => {
    const { tensor } = hiddenStates(1, 4, 4, 82);
    const a = adapter();
    a.ensureBuilt();
    const before = tf.memory().numTensors;
    expect(() => a.forward({ tokenIds: [[P, P, 5, E]], hiddenStates: tensor })).toThrow(NestedPhraseError);
    expect(() => a.forward({ tokenIds: [[P, 5, E]], hiddenStates: tensor })).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    tensor.dispose();
    a.dispose();
  });
});

describe('LlmConditionAdapter: validation', () => {
  it('ShapeError when token ids and hidden states disagree on batch or tokens', () => {
    const { tensor } = hiddenStates(2, 5, 4, 91);
    const a = adapter();
    const row = [P, 11, E, S, PAD];
    expect(() => a.forward({ tokenIds: [row], hiddenStates: tensor })).toThrow(ShapeError);
    expect(() => a.forward({ tokenIds: [row], hiddenStates: tensor })).toThrow(/tokenIds: .*batch: 1 ≠ 2/);
    expect(() => a.forward({ tokenIds: [row, row.slice(0, 4)], hiddenStates: tensor })).toThrow(/row 1: tokens: 4 ≠ 5/);
    const ids = tf.tensor2d([[...row, PAD], [...row, PAD]], [2, 6], 'int32');
    expect(() => a.forward({ tokenIds: ids, hiddenStates: tensor })).toThrow(/tokenIds: .*tokens: 6 ≠ 5/);
    const ids3 = tf.tensor2d([row, row, row], [3, 5], 'int32');
    expect(() => a.forward({ tokenIds: ids3, hiddenStates: tensor })).toThrow(/batch: 3 ≠ 2/);
    const wide = tf.zeros([2, 5, 3]) as tf.Tensor3D;
    expect(() => a.forward({ tokenIds: [row, row], hiddenStates: wide })).toThrow(/hiddenStates: .*llmDim/);
    const intH = tf.zeros([2, 5, 4], 'int32') as tf.Tensor3D;
    expect(() => a.forward({ tokenIds: [row, row], hiddenStates: intH })).toThrow(DTypeError);
    const mask = tf.ones([2, 4]) as tf.Tensor2D;
    expect(() => a.forward({ tokenIds: [row, row], hiddenStates: tensor, attentionMask: mask })).toThrow(ShapeError);
    tf.dispose([tensor, ids, ids3, wide, intH, mask]);
    a.dispose();
  });

  it('ValueError for bad config', () => {
    const base: LlmConditionAdapterConfig = { llmDim: 4, decoderDim: 6, specialTokens: IDS };
    expect(() => new LlmConditionAdapter({ ...base, llmDim: 0 })).toThrow(ValueError);
    expect(() => new LlmConditionAdapter({ ...base, decoderDim: 2.5 })).toThrow(ValueError);
    expect(() => new LlmConditionAdapter({ ...base, pooling: 'max' as 'mean' })).toThrow(/pooling/);
    expect(() => new LlmConditionAdapter({ ...base, dropout: 1 })).toThrow(/dropout/);
    expect(() => new LlmConditionAdapter({ ...base, projectionHiddenDim: -1 })).toThrow(/projectionHiddenDim/);
    expect(() => new LlmConditionAdapter({ ...base, seed: 0.5 })).toThrow(/seed/);
    expect(() => new LlmConditionAdapter({ ...base, specialTokens: { ...IDS, seg: P } })).toThrow(/distinct/);
    expect(() => new LlmConditionAdapter({ ...base, padId: E })).toThrow(/padId/);
    expect(() => new LlmConditionAdapter({ ...base, vocabSize: 2 })).toThrow(/vocabulary/);
    expect(() => new LlmConditionAdapter({ ...base, emptyPhrase: 'x' as 'drop' })).toThrow(/emptyPhrase/);
    expect(() => new LlmConditionAdapter({ ...base, includeTags: 'yes' as unknown as boolean })).toThrow(/includeTags/);
    expect(() => new LlmProjection({ inFeatures: 4, outFeatures: 0 })).toThrow(ValueError);
  });

  it('applies the configured token rules (requireSeg, vocabSize, emptyPhrase)', () => {
    const { tensor } = hiddenStates(1, 4, 4, 92);
    const strict = adapter({ requireSeg: true, vocabSize: 30 });
    expect(() => strict.forward({ tokenIds: [[P, 5, E, 6]], hiddenStates: tensor })).toThrow(/batch item 0, position 4/);
    expect(() => strict.forward({ tokenIds: [[P, 50, E, S]], hiddenStates: tensor })).toThrow(/batch item 0, position 1/);
    const lenient = adapter({ emptyPhrase: 'drop' });
    const r = lenient.forward({ tokenIds: [[P, E, 5, S]], hiddenStates: tensor });
    expect(r.conditions.shape).toEqual([1, 0, 6]);
    disposeResult(r);
    expect(lenient.parse([[P, E, 5, S]]).items[0]!.spans).toEqual([]);
    tensor.dispose();
    strict.dispose();
    lenient.dispose();
  });
});

/** What a model loader does: look the class up by name in the registry and call its fromConfig. */
function fromRegistry(className: string, config: tf.serialization.ConfigDict): tf.serialization.Serializable {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  expect(entry, `${className} is registered`).toBeDefined();
  const [cls, fromConfig] = entry!;
  return fromConfig(cls, config);
}

describe('LlmConditionAdapter: serialization and Layers API', () => {
  for (const cfg of [{}, { pooling: 'attention' as const, separateProjections: true, includeTags: true, vocabSize: 40, dropout: 0.1 }]) {
    it(`getConfig → registry → fromConfig → same output with same weights ${JSON.stringify(cfg)}`, () => {
      const { tensor } = hiddenStates(B, T, 4, 101);
      const a = adapter(cfg);
      if (cfg.pooling === 'attention') a.namedWeights().get('pool_score')!.write(tf.tensor1d([0.3, 0.1, -0.4, 0.2]));
      // Through JSON, as a saved model config would travel.
      const config = JSON.parse(JSON.stringify(a.getConfig())) as tf.serialization.ConfigDict;
      const b = fromRegistry(LlmConditionAdapter.className, config) as LlmConditionAdapter;
      expect(b).toBeInstanceOf(LlmConditionAdapter);
      expect(b.getConfig()).toEqual(a.getConfig());
      b.ensureBuilt();
      for (const [name, v] of a.namedWeights()) b.namedWeights().get(name)!.write(v.read());
      const ra = a.forward({ tokenIds: ROWS, hiddenStates: tensor });
      const rb = b.forward({ tokenIds: ROWS, hiddenStates: tensor });
      expect(maxAbsDiff(ra.conditions.arraySync(), rb.conditions.arraySync())).toBe(0);
      expect(maxAbsDiff(ra.segEmbeddings.arraySync(), rb.segEmbeddings.arraySync())).toBe(0);
      [ra, rb].forEach(disposeResult);
      [a, b].forEach((l) => l.dispose());
      tensor.dispose();
    });
  }

  it('LlmProjection round-trips on its own', () => {
    const p = new LlmProjection({ inFeatures: 4, outFeatures: 3, hiddenDim: 5, seed: 1 });
    const q = fromRegistry(LlmProjection.className, p.getConfig()) as LlmProjection;
    expect(q.getConfig()).toEqual(p.getConfig());
    // Same seed → same init, no weight copy needed.
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 2);
    const [yp, yq] = [p.forward(x), q.forward(x)];
    expect(maxAbsDiff(yp.arraySync(), yq.arraySync())).toBe(0);
    tf.dispose([x, yp, yq]);
    [p, q].forEach((l) => l.dispose());
  });

  it('apply([tokenIds, hiddenStates]) returns the five tensors', () => {
    const { tensor } = hiddenStates(B, T, 4, 111);
    const a = adapter();
    const ids = tf.tensor2d(ROWS, [B, T], 'int32');
    const out = a.apply([ids, tensor]) as tf.Tensor[];
    expect(out.map((t) => t.shape)).toEqual([[3, 2, 6], [3, 2], [3, 2, 6], [3, 2], [3, 2, 2]]);
    tf.dispose([...out, ids, tensor]);
    a.dispose();
  });
});

describe('LlmProjection and LlmConditionAdapter: lifecycle and input checks', () => {
  it('dispose() after eager-only use frees every weight, once', () => {
    const before = tf.memory().numTensors;
    const { tensor } = hiddenStates(B, T, 4, 121);
    const a = adapter({ separateProjections: true });
    disposeResult(a.forward({ tokenIds: ROWS, hiddenStates: tensor }));
    tensor.dispose();
    expect(a.dispose().numDisposedVariables).toBe(8); // 2 projections × 2 linears × (kernel, bias)
    expect(tf.memory().numTensors).toBe(before);
    expect(() => a.dispose()).toThrow(/disposed/);
    const p = new LlmProjection({ inFeatures: 4, outFeatures: 3, seed: 5 });
    const x = tf.zeros([2, 4]);
    tf.dispose([x, p.forward(x)]);
    expect(p.dispose().numDisposedVariables).toBe(4);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('LlmProjection: ShapeError naming x for a wrong last axis, DTypeError for int input', () => {
    const p = new LlmProjection({ inFeatures: 4, outFeatures: 3 });
    const wide = tf.zeros([2, 5]);
    const ints = tf.zeros([2, 4], 'int32');
    expect(() => p.forward(wide)).toThrow(ShapeError);
    expect(() => p.forward(wide)).toThrow(/x: expected \[\.\.\., inFeatures=4\]/);
    expect(() => p.forward(ints)).toThrow(DTypeError);
    tf.dispose([wide, ints]);
    p.dispose();
  });
});
