import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ShapeError, ValueError, getLayerWeights, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import {
  CopyHead,
  TinyCausalLM,
  disposeFlowSegOutputs,
  extendFlowSegModel,
  refsegExamples,
  resolveFlowSegConfig,
  stageObjective,
  stageParameters,
} from '../../src/index.js';
import { trainStage } from '../../src/node/index.js';
import { SetCriterion } from '@flowseg/mask2former-decoder';
import { reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { gradientMagnitudes, roundTrip } from '../support/layers.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (((i + 1) * 7919 * (seed + 3)) % 2000) / 1000 - 1);
}

/** The copy bonus re-derived with loops: Δ[t, v] = s_t · Σ_{j<t, real j} a[t, j]·[x_{j+1} = v]. */
function referenceBonus(
  h: number[][][],
  ids: number[][],
  mask: number[][] | null,
  w: { q: number[][]; bq: number[]; k: number[][]; sk: number[]; sb: number },
  vocab: number,
): number[][][] {
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const proj = (x: number[], m: number[][]) => m[0]!.map((_, c) => dot(x, m.map((row) => row[c]!)));
  const dim = w.q[0]!.length;
  return h.map((rows, b) =>
    rows.map((ht, t) => {
      const q = proj(ht, w.q).map((x, c) => x + w.bq[c]!);
      const js = Array.from({ length: t }, (_, j) => j).filter((j) => !mask || mask[b]![j] === 1);
      const out = new Array<number>(vocab).fill(0);
      if (js.length === 0) return out;
      const scores = js.map((j) => dot(q, proj(rows[j]!, w.k)) / Math.sqrt(dim));
      const top = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - top));
      const z = e.reduce((a, x) => a + x, 0);
      const strength = dot(ht, w.sk) + w.sb;
      js.forEach((j, i) => (out[ids[b]![j + 1]!]! += (strength * e[i]!) / z));
      return out;
    }),
  );
}

function setWeights(head: CopyHead, w: { q: number[][]; bq: number[]; k: number[][]; sk: number[]; sb: number }): void {
  const named = head.namedWeights();
  named.get('query.kernel')!.write(tf.tensor2d(w.q));
  named.get('query.bias')!.write(tf.tensor1d(w.bq));
  named.get('key.kernel')!.write(tf.tensor2d(w.k));
  named.get('strength_kernel')!.write(tf.tensor2d(w.sk.map((x) => [x])));
  named.get('strength_bias')!.write(tf.tensor1d([w.sb]));
}

const diffFrom = (a: tf.Tensor, b: number[][][]) => Math.max(...Array.from(tf.tidy(() => tf.abs(tf.sub(a, tf.tensor3d(b))).dataSync())));

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

describe('CopyHead', () => {
  const hiddenSize = 3;
  const copyDim = 2;
  const vocab = 6;
  const w = {
    q: [values(2, 1), values(2, 2), values(2, 3)],
    bq: values(2, 4),
    k: [values(2, 5), values(2, 6), values(2, 7)],
    sk: values(3, 8),
    sb: 0.7,
  };
  const hRows = [0, 1].map((b) => Array.from({ length: 5 }, (_, t) => values(hiddenSize, 10 + 5 * b + t)));
  // Row 0 repeats 4 after 3: position 3 (token 3) finds position 1 (token 3) and proposes 4.
  const ids = [
    [1, 3, 4, 3, 2],
    [0, 0, 5, 5, 1],
  ];
  const mask = [
    [1, 1, 1, 1, 1],
    [0, 0, 1, 1, 1],
  ];

  it('equals the loop re-derivation, with and without a (left-padding) mask; zero for the first real token; no leaks', () => {
    const head = new CopyHead({ hiddenSize, copyDim, vocabSize: vocab, seed: 1 });
    setWeights(head, w);
    const h = tf.tensor3d(hRows);
    const idT = tf.tensor2d(ids, undefined, 'int32');
    const maskT = tf.tensor2d(mask, undefined, 'int32');
    const masked = expectNoLeaks(() => head.forward({ hiddenStates: h, tokenIds: idT, attentionMask: maskT }), { warmup: true });
    const expected = referenceBonus(hRows, ids, mask, w, vocab);
    expect(diffFrom(masked, expected)).toBeLessThan(1e-5);
    const arr = masked.arraySync();
    // Nothing before the first (real) token: no bonus. Row 1's padding (ids 0 before 5) is never proposed.
    expect(arr[0]![0]!.every((x) => x === 0)).toBe(true);
    expect(arr[1]![2]!.every((x) => x === 0)).toBe(true);
    // Row 1, position 3 only sees position 2 (token 5 followed by 5): the whole strength goes to id 5.
    const s13 = hRows[1]![3]!.reduce((a, x, i) => a + x * w.sk[i]!, 0) + w.sb;
    expect(arr[1]![3]![5]).toBeCloseTo(s13, 5);
    const plain = head.forward({ hiddenStates: h, tokenIds: idT });
    expect(diffFrom(plain, referenceBonus(hRows, ids, null, w, vocab))).toBeLessThan(1e-5);
    expect(diffFrom(plain, expected)).toBeGreaterThan(1e-3); // the mask matters for row 1
    tf.dispose([h, idT, maskT, masked, plain]);
    head.dispose();
  });

  it('starts at exactly 0; the strength gets a gradient first, the attention once the strength is non-zero', () => {
    const head = new CopyHead({ hiddenSize, copyDim, vocabSize: vocab, seed: 2 });
    const h = tf.tensor3d(hRows);
    const idT = tf.tensor2d(ids, undefined, 'int32');
    const zero = head.forward({ hiddenStates: h, tokenIds: idT });
    expect(tf.tidy(() => tf.max(tf.abs(zero)).dataSync()[0])).toBe(0);
    // L = Σ Δ·r for a fixed r.
    const r = tf.randomNormal([2, 5, vocab], 0, 1, 'float32', 3);
    const grads = () => Object.fromEntries(gradientMagnitudes(head, () => tf.sum(tf.mul(head.forward({ hiddenStates: h, tokenIds: idT }), r)) as tf.Scalar));
    const first = grads();
    expect(first['strength_kernel']).toBeGreaterThan(0);
    expect(first['strength_bias']).toBeGreaterThan(0);
    expect(first['query.kernel']).toBe(0);
    expect(first['key.kernel']).toBe(0);
    head.namedWeights().get('strength_bias')!.write(tf.tensor1d([1]));
    const second = grads();
    for (const k of ['query.kernel', 'query.bias', 'key.kernel', 'strength_kernel']) expect(second[k], k).toBeGreaterThan(0);
    tf.dispose([h, idT, zero, r]);
    head.dispose();
  });

  it('rejects bad configs and inputs with named errors; getConfig round trip with the same outputs', () => {
    expect(() => new CopyHead({ hiddenSize: 3, copyDim: 0, vocabSize: 6 })).toThrow(/copyDim/);
    expect(() => new CopyHead({ hiddenSize: 3, copyDim: 2, vocabSize: 1.5 })).toThrow(/vocabSize/);
    const head = new CopyHead({ hiddenSize, copyDim, vocabSize: vocab, seed: 4 });
    const h = tf.zeros([1, 4, 3]) as tf.Tensor3D;
    expect(() => head.forward({ hiddenStates: tf.zeros([1, 4, 2]) as tf.Tensor3D, tokenIds: tf.zeros([1, 4], 'int32') as tf.Tensor2D })).toThrow(ShapeError);
    expect(() => head.forward({ hiddenStates: h, tokenIds: tf.zeros([1, 3], 'int32') as tf.Tensor2D })).toThrow(/tokens/);
    expect(() => head.forward({ hiddenStates: h, tokenIds: tf.zeros([1, 4]) as tf.Tensor2D })).toThrow(/tokenIds/);
    setWeights(head, w);
    const copy = roundTrip(head);
    expect(copy.getConfig()).toEqual(head.getConfig());
    const idT = tf.tensor2d(ids, undefined, 'int32');
    const hT = tf.tensor3d(hRows);
    const y1 = head.forward({ hiddenStates: hT, tokenIds: idT });
    const y2 = copy.forward({ hiddenStates: hT, tokenIds: idT });
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    tf.dispose([idT, hT, y1, y2]);
    expect(head.getConfig()).toMatchObject({ hiddenSize: 3, copyDim: 2, vocabSize: 6, seed: 4 });
    tf.dispose(h);
    head.dispose();
    copy.dispose();
  });
});

describe('TinyCausalLM with copyHeadDim', () => {
  it('logits = the plain model’s logits + the head’s bonus; config validated and round-tripped', () => {
    expect(() => new TinyCausalLM({ vocabSize: 9, hiddenSize: 8, numHeads: 2, copyHeadDim: -1 })).toThrow(ValueError);
    const plain = new TinyCausalLM({ vocabSize: 9, hiddenSize: 8, numLayers: 1, numHeads: 2, seed: 3 });
    const lm = new TinyCausalLM({ vocabSize: 9, hiddenSize: 8, numLayers: 1, numHeads: 2, copyHeadDim: 4, seed: 3 });
    expect(plain.copyHeadDim).toBeNull();
    expect(plain.getConfig()).not.toHaveProperty('copyHeadDim');
    expect(lm.getConfig()).toMatchObject({ copyHeadDim: 4 });
    // Same seed, same trunk weights; the head's strength is random here so the bonus is not 0.
    lm.namedWeights().get('copy_head.strength_bias')!.write(tf.tensor1d([2]));
    const tokenIds = tf.tensor2d([[1, 3, 4, 3, 5], [0, 2, 6, 6, 7]], undefined, 'int32');
    const attentionMask = tf.tensor2d([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]], undefined, 'int32');
    const imageTokens = tf.randomNormal([2, 2, 8], 0, 1, 'float32', 5) as tf.Tensor3D;
    const out = lm.forward({ imageTokens, tokenIds, attentionMask });
    const base = plain.forward({ imageTokens, tokenIds, attentionMask });
    const head = (lm as unknown as { copyHead: CopyHead }).copyHead;
    const bonus = head.forward({ hiddenStates: out.hiddenStates, tokenIds, attentionMask });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(out.logits, tf.add(base.logits, bonus)))).dataSync()[0])).toBeLessThan(1e-5);
    expect(tf.tidy(() => tf.max(tf.abs(bonus)).dataSync()[0])).toBeGreaterThan(0.1);
    tf.dispose([tokenIds, attentionMask, imageTokens, out.hiddenStates, out.logits, base.hiddenStates, base.logits, bonus]);
    plain.dispose();
    lm.dispose();
  });
});

describe('copy head in FlowSegModel and training', () => {
  it('extension leaves the outputs as they were; validated config; checkpoint round trip keeps the head', async () => {
    expect(() => resolveFlowSegConfig({ languageModel: { copyHeadDim: 0 } })).toThrow(/languageModel.copyHeadDim/);
    const plain = tinyModel({ seed: 2 });
    const { model, added } = extendFlowSegModel(plain, { languageModel: { copyHeadDim: 8 } });
    expect([...added].sort()).toEqual(
      ['query.bias', 'query.kernel', 'key.kernel', 'strength_bias', 'strength_kernel'].map((k) => `language_model.copy_head.${k}`).sort(),
    );
    const tokenizer = plain.tokenizer;
    const ids = [[...tokenizer.encode('segment the red circle', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG>', { addEos: true })]];
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const a = plain.forward({ images, tokenIds: ids });
    const b = model.forward({ images, tokenIds: ids });
    expect(Array.from(b.lmLogits.dataSync())).toEqual(Array.from(a.lmLogits.dataSync()));
    model.languageModel.namedWeights().get('copy_head.strength_bias')!.write(tf.tensor1d([3]));
    const c = model.forward({ images, tokenIds: ids });
    expect(Array.from(c.lmLogits.dataSync())).not.toEqual(Array.from(a.lmLogits.dataSync()));
    const loaded = await reloadThroughCheckpoint(model);
    expect(loaded.config.languageModel.copyHeadDim).toBe(8);
    const d = loaded.forward({ images, tokenIds: ids });
    expect(Array.from(d.lmLogits.dataSync())).toEqual(Array.from(c.lmLogits.dataSync()));
    for (const out of [a, b, c, d]) disposeFlowSegOutputs(out);
    tf.dispose(images);
    for (const m of [plain, model, loaded]) m.dispose();
  });

  it('answersOnly is the next-token loss alone; trainOnly trains the copy head and nothing else', async () => {
    const original = tinyModel({ seed: 3 });
    const { model } = extendFlowSegModel(original, { languageModel: { copyHeadDim: 8 } });
    original.dispose();
    const data = (start: number, count: number) => refsegExamples('train', { attribute: 1 }, start, count, { width: 32, height: 32 });
    const criterion = new SetCriterion({ numClasses: 1, numPoints: 64 });
    const full = stageObjective(model, 'joint', data(0, 2), criterion);
    const only = stageObjective(model, 'joint', data(0, 2), criterion, undefined, { answersOnly: true });
    const lossOf = (o: typeof full) => {
      const g = tf.variableGrads(() => o.loss());
      tf.dispose([g.value, ...Object.values(g.grads)]);
      return o.metrics();
    };
    const fullParts = lossOf(full);
    const onlyParts = lossOf(only);
    expect(Object.keys(onlyParts)).toEqual(['lm']);
    expect(onlyParts['lm']).toBeCloseTo(fullParts['lm']!, 5);
    full.dispose();
    only.dispose();
    expect(() => stageObjective(model, 'joint', data(0, 1), criterion, undefined, { answersOnly: true, jointAttributes: true })).toThrow(/answersOnly/);
    expect(() => stageParameters(model, 'joint', [])).toThrow(/trainOnly/);
    expect(() => stageParameters(model, 'segmentor', ['language_model.'])).toThrow(/no parameter of the segmentor stage/);
    expect([...stageParameters(model, 'joint', ['language_model.copy_head.']).keys()]).toHaveLength(5);
    const snapshot = () => {
      const weights = getLayerWeights(model);
      const out = new Map([...weights].map(([k, t]) => [k, (t.dataSync() as Float32Array).slice()]));
      tf.dispose([...weights.values()]);
      return out;
    };
    const before = snapshot();
    const tensors = tf.memory().numTensors;
    await trainStage(model, { stage: 'joint', answersOnly: true, trainOnly: ['language_model.copy_head.'], steps: 4, batchSize: 2, data, progress: null });
    expect(tf.memory().numTensors).toBe(tensors);
    const after = snapshot();
    const changed = [...after].filter(([k, v]) => v.some((x, i) => x !== before.get(k)![i])).map(([k]) => k);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((k) => k.startsWith('language_model.copy_head.'))).toBe(true);
    model.dispose();
  }, 120_000);
});
