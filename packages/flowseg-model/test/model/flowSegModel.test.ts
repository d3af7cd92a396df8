import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { generateSample } from '@flowseg/refseg-synth';
import { FlowSegModel, withAblation, disposeFlowSegOutputs, type FlowSegOutputs } from '../../src/index.js';
import { tinyConfig, tinyTokenizer } from '../support/tinyFlowSeg.js';
import { maxAbsDiff } from '../support/layers.js';

const tokenizer = tinyTokenizer();

/** `<bos> prompt answer <eos>` rows, right-padded, with their attention mask. */
function sequences(pairs: readonly [string, string][]): { ids: number[][]; mask: number[][] } {
  const rows = pairs.map(([p, a]) => [...tokenizer.encode(p, { addBos: true }), ...tokenizer.encode(a, { addEos: true })]);
  const length = Math.max(...rows.map((r) => r.length));
  return {
    ids: rows.map((r) => [...r, ...new Array<number>(length - r.length).fill(tokenizer.padId)]),
    mask: rows.map((r) => Array.from({ length }, (_, t) => (t < r.length ? 1 : 0))),
  };
}

function sceneImages(count: number, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const scenes = Array.from({ length: count }, (_, i) => generateSample('val', 'attribute', i).scene);
    const x = tf.stack(scenes.map((s) => tf.tensor3d(s.image, [64, 64, 3], 'int32')));
    return tf.image.resizeBilinear(tf.div(tf.cast(x, 'float32'), 255) as tf.Tensor4D, [size, size], false, true);
  });
}

const PAIRS: [string, string][] = [
  ['segment the red circle', '<p> the red circle </p> <SEG>'],
  ['show me all the red shapes', '<p> the red circle </p> <SEG> <p> the small red square </p> <SEG>'],
  ['find the purple star', '<p> the purple star </p> no object matches'],
];

function read(out: FlowSegOutputs) {
  return {
    lm: out.lmLogits.dataSync().slice() as Float32Array,
    scores: out.scores.dataSync().slice() as Float32Array,
    selected: out.selectedLogits.dataSync().slice() as Float32Array,
    candidates: out.candidateLogits.dataSync().slice() as Float32Array,
  };
}

describe('FlowSegModel.forward (tiny config)', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('gives one target row per <SEG> with documented shapes and dtypes, leak-free', () => {
    const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
    const images = sceneImages(3, 32);
    const { ids, mask } = sequences(PAIRS);
    const out = expectNoLeaks(() => model.forward({ images, tokenIds: ids, attentionMask: mask }), { warmup: true });
    const [mh, mw] = model.maskSize;
    expect([mh, mw]).toEqual([16, 16]);
    expect(Array.from(out.batchIndex)).toEqual([0, 1, 1]);
    expect(Array.from(out.segIndex)).toEqual([0, 0, 1]);
    expect(out.lmLogits.shape).toEqual([3, ids[0]!.length, tokenizer.vocabSize]);
    expect(out.classLogits.shape).toEqual([3, 4, 2]);
    expect(out.rawCandidateLogits.shape).toEqual([3, 4, mh, mw]);
    expect(out.candidateLogits.shape).toEqual([3, 4, mh, mw]);
    expect(out.queries.shape).toEqual([3, 4, 32]);
    expect(out.scores.shape).toEqual([3, 4]);
    expect(out.selectedIndex.shape).toEqual([3]);
    expect(out.selectedIndex.dtype).toBe('int32');
    expect(out.selectedLogits.shape).toEqual([3, mh, mw]);
    expect(out.conditions.shape[0]).toBe(3);
    expect(out.conditions.shape[2]).toBe(32);
    expect(out.conditionMask.shape).toEqual([3, out.conditions.shape[1]]);
    // Row 1 (first <SEG> of item 1) reads phrase 0 of item 1, row 2 reads phrase 1.
    const cm = out.conditionMask.arraySync();
    expect(cm[1]!.slice(0, 2)).toEqual([1, 0]);
    expect(cm[2]!.slice(0, 2)).toEqual([0, 1]);
    expect(out.auxOutputs).toHaveLength(3);
    for (const t of [out.lmLogits, out.classLogits, out.candidateLogits, out.queries, out.scores, out.selectedLogits]) {
      expect(t.dtype).toBe('float32');
      expect(Array.from(t.dataSync()).every(Number.isFinite)).toBe(true);
    }
    disposeFlowSegOutputs(out);
    images.dispose();
    model.dispose();
  });

  it('gives zero target rows when no answer has a <SEG>, and handles a <SEG> without phrases', () => {
    const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
    const images = sceneImages(2, 32);
    const none = sequences([PAIRS[2]!, ['describe the image', 'a large red circle at the top left .']]);
    const out = model.forward({ images, tokenIds: none.ids, attentionMask: none.mask });
    expect(out.batchIndex).toHaveLength(0);
    expect(out.selectedLogits.shape).toEqual([0, 16, 16]);
    expect(out.candidateLogits.shape).toEqual([0, 4, 16, 16]);
    expect(out.queries.shape).toEqual([0, 4, 32]);
    expect(out.scores.shape).toEqual([0, 4]);
    disposeFlowSegOutputs(out);
    const bare = sequences([['segment the red circle', '<SEG>'], ['segment the red circle', '<SEG> <SEG>']]);
    const out2 = model.forward({ images, tokenIds: bare.ids, attentionMask: bare.mask });
    expect(Array.from(out2.batchIndex)).toEqual([0, 1, 1]);
    expect(Array.from(out2.scores.dataSync()).every(Number.isFinite)).toBe(true);
    disposeFlowSegOutputs(out2);
    images.dispose();
    model.dispose();
  });

  it('agrees between the cpu and wasm backends', async () => {
    const { ids, mask } = sequences(PAIRS.slice(0, 2));
    const run = async (backend: 'cpu' | 'wasm') => {
      await selectBackend(backend, { wasmThreads: 1 });
      const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
      const images = sceneImages(2, 32);
      const out = model.forward({ images, tokenIds: ids, attentionMask: mask });
      const values = { ...read(out), index: Array.from(out.selectedIndex.dataSync()), backend: tf.getBackend() };
      disposeFlowSegOutputs(out);
      images.dispose();
      model.dispose();
      return values;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(cpu.backend).toBe('cpu');
    expect(wasm.backend).toBe('wasm');
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    expect(maxDiff(cpu.lm, wasm.lm)).toBeLessThan(1e-3);
    expect(maxDiff(cpu.scores, wasm.scores)).toBeLessThan(1e-2);
    expect(maxDiff(cpu.candidates, wasm.candidates)).toBeLessThan(1e-2);
    expect(cpu.index).toEqual(wasm.index);
  });

  it('selects the candidate maximising cos(W_q Q_out, W_c c) / τ (recomputed from the selector weights)', () => {
    const model = new FlowSegModel({ config: tinyConfig({ selection: { temperature: 0.5 } }), tokenizer });
    const images = sceneImages(2, 32);
    const { ids, mask } = sequences(PAIRS.slice(0, 2));
    const out = model.forward({ images, tokenIds: ids, attentionMask: mask });
    const w = model.namedWeights();
    const get = (name: string) => w.get(name)!.read().arraySync() as number[][] | number[];
    const wq = get('selector.query_proj.kernel') as number[][];
    const bq = get('selector.query_proj.bias') as number[];
    const wc = get('selector.condition_proj.kernel') as number[][];
    const bc = get('selector.condition_proj.bias') as number[];
    const project = (x: number[], k: number[][], b: number[]) => b.map((bj, j) => bj + x.reduce((s, xi, i) => s + xi * k[i]![j]!, 0));
    const unit = (v: number[]) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / (n + 1e-6));
    };
    const queries = out.queries.arraySync();
    const conditions = out.conditions.arraySync();
    const cmask = out.conditionMask.arraySync();
    const scores = out.scores.arraySync();
    const selected = Array.from(out.selectedIndex.dataSync());
    const candidates = out.candidateLogits.arraySync();
    const picked = out.selectedLogits.arraySync();
    expect(queries).toHaveLength(3);
    queries.forEach((rowQueries, r) => {
      // c = mean of the target's tied refined conditions (every target here has a phrase).
      const tied = conditions[r]!.filter((_, j) => cmask[r]![j] === 1);
      expect(tied.length).toBeGreaterThan(0);
      const c = tied[0]!.map((_, d) => tied.reduce((s, v) => s + v[d]!, 0) / tied.length);
      const pc = unit(project(c, wc, bc));
      const expected = rowQueries.map((q) => unit(project(q, wq, bq)).reduce((s, v, i) => s + v * pc[i]!, 0) / 0.5);
      expected.forEach((v, i) => expect(scores[r]![i]).toBeCloseTo(v, 4));
      const best = expected.indexOf(Math.max(...expected));
      expect(selected[r]).toBe(best);
      expect(picked[r]).toEqual(candidates[r]![best]);
    });
    disposeFlowSegOutputs(out);
    images.dispose();
    model.dispose();
  });

  it('auxOutputs: false gives the same outputs without the deep-supervision predictions, leak-free', () => {
    // Object tokens too: their condition-free decoder pass is an inference pass as well.
    const base = tinyConfig();
    const model = new FlowSegModel({
      config: { ...base, attributeClasses: [3, 2], languageModel: { ...base.languageModel, objectTokens: true } },
      tokenizer,
    });
    const images = sceneImages(3, 32);
    const { ids, mask } = sequences(PAIRS);
    const full = model.forward({ images, tokenIds: ids, attentionMask: mask });
    const fast = expectNoLeaks(() => model.forward({ images, tokenIds: ids, attentionMask: mask, auxOutputs: false }), { warmup: true });
    expect(full.auxOutputs.length).toBe(model.config.decoder.numLayers);
    expect(fast.auxOutputs).toEqual([]);
    for (const key of ['lmLogits', 'scores', 'selectedLogits', 'candidateLogits'] as const) {
      expect(maxAbsDiff(full[key], fast[key]), key).toBeLessThan(1e-4);
    }
    expect(() => model.forward({ images, tokenIds: ids, attentionMask: mask, auxOutputs: 1 as unknown as boolean })).toThrow(
      expect.objectContaining({ name: 'ValueError', argument: 'auxOutputs' }),
    );
    disposeFlowSegOutputs(full);
    disposeFlowSegOutputs(fast);
    images.dispose();
    model.dispose();
  });

  it("refine: 'selected' gives the same selected masks as 'all', refining only the selected candidate, leak-free", () => {
    const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
    const images = sceneImages(3, 32);
    const { ids, mask } = sequences(PAIRS);
    const all = model.forward({ images, tokenIds: ids, attentionMask: mask });
    const sel = expectNoLeaks(() => model.forward({ images, tokenIds: ids, attentionMask: mask, refine: 'selected' }), {
      warmup: true,
    });
    const index = Array.from(sel.selectedIndex.dataSync());
    expect(index).toEqual(Array.from(all.selectedIndex.dataSync()));
    const raw = all.rawCandidateLogits.arraySync();
    const refinedAll = all.candidateLogits.arraySync();
    const candidates = sel.candidateLogits.arraySync();
    const picked = sel.selectedLogits.arraySync();
    const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, y) => row.map((v, x) => Math.abs(v - b[y]![x]!))));
    let changed = 0;
    index.forEach((q, r) => {
      // The selected mask is BAR's output for that candidate, as with 'all'.
      expect(maxDiff(picked[r]!, refinedAll[r]![q]!)).toBeLessThan(1e-5);
      expect(candidates[r]![q]).toEqual(picked[r]);
      changed += maxDiff(picked[r]!, raw[r]![q]!) > 0 ? 1 : 0;
      // Every other candidate keeps its raw logits.
      raw[r]!.forEach((m, i) => {
        if (i !== q) expect(maxDiff(candidates[r]![i]!, m)).toBe(0);
      });
    });
    // BAR did change the selected masks here, so the comparison above is not vacuous.
    expect(changed).toBeGreaterThan(0);
    disposeFlowSegOutputs(all);
    disposeFlowSegOutputs(sel);
    images.dispose();
    model.dispose();
  });

  it('languagePrefix: a given prefix replaces the computed one (same outputs when it is the same), is not disposed, and is shape-checked', () => {
    const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
    const images = sceneImages(2, 32);
    const { ids, mask } = sequences(PAIRS.slice(0, 2));
    const reference = read(model.forward({ images, tokenIds: ids, attentionMask: mask }));
    const prefix = model.languagePrefix(images);
    const given = expectNoLeaks(() => model.forward({ images, tokenIds: ids, attentionMask: mask, languagePrefix: prefix }), { warmup: true });
    const same = read(given);
    for (const k of ['lm', 'scores', 'selected', 'candidates'] as const) expect(Array.from(same[k])).toEqual(Array.from(reference[k]));
    expect(prefix.isDisposed).toBe(false);
    // Another prefix moves the answer logits, so forward did read the one it was given.
    const zeros = tf.zerosLike(prefix);
    const other = model.forward({ images, tokenIds: ids, attentionMask: mask, languagePrefix: zeros });
    const diff = read(other).lm.reduce((m, v, i) => Math.max(m, Math.abs(v - reference.lm[i]!)), 0);
    expect(diff).toBeGreaterThan(1e-3);
    const [, p, h] = prefix.shape;
    const tooLong = tf.zeros([2, p + 1, h]) as tf.Tensor3D;
    const oneRow = tf.zeros([1, p, h]) as tf.Tensor3D;
    const ints = tf.zeros([2, p, h], 'int32') as tf.Tensor3D;
    const before = tf.memory().numTensors;
    expect(() => model.forward({ images, tokenIds: ids, languagePrefix: tooLong })).toThrow(/languagePrefix/);
    expect(() => model.forward({ images, tokenIds: ids, languagePrefix: oneRow })).toThrow(ShapeError);
    expect(() => model.forward({ images, tokenIds: ids, languagePrefix: ints })).toThrow(DTypeError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([tooLong, oneRow, ints]);
    for (const out of [given, other]) disposeFlowSegOutputs(out);
    tf.dispose([images, prefix, zeros]);
    model.dispose();
  });

  it('pixelFeatures: given ones replace the segmentation encoder and pixel decoder (same outputs when they are the same), are not disposed, and are checked', () => {
    const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
    const images = sceneImages(2, 32);
    const { ids, mask } = sequences(PAIRS.slice(0, 2));
    const reference = read(model.forward({ images, tokenIds: ids, attentionMask: mask }));
    const pixels = expectNoLeaks(() => model.pixelFeatures(images), { warmup: true });
    const prefix = model.languagePrefix(images, pixels);
    const given = expectNoLeaks(() => model.forward({ images, tokenIds: ids, attentionMask: mask, languagePrefix: prefix, pixelFeatures: pixels }), { warmup: true });
    const same = read(given);
    for (const k of ['lm', 'scores', 'selected', 'candidates'] as const) expect(Array.from(same[k])).toEqual(Array.from(reference[k]));
    expect([...pixels.features, pixels.maskFeatures].some((t) => t.isDisposed)).toBe(false);
    // Other mask features move the candidates, so forward did read the ones it was given.
    const shifted = { features: pixels.features, maskFeatures: tf.add(pixels.maskFeatures, 1) as tf.Tensor4D };
    const other = model.forward({ images, tokenIds: ids, attentionMask: mask, pixelFeatures: shifted });
    const diff = read(other).candidates.reduce((m, v, i) => Math.max(m, Math.abs(v - reference.candidates[i]!)), 0);
    expect(diff).toBeGreaterThan(1e-3);
    const [, mh, mw, md] = pixels.maskFeatures.shape;
    const oneImage = { features: pixels.features, maskFeatures: tf.zeros([1, mh, mw, md]) as tf.Tensor4D };
    const narrow = { features: pixels.features, maskFeatures: tf.zeros([2, mh, mw, md + 1]) as tf.Tensor4D };
    const before = tf.memory().numTensors;
    expect(() => model.forward({ images, tokenIds: ids, pixelFeatures: oneImage })).toThrow(/pixelFeatures\.maskFeatures/);
    expect(() => model.forward({ images, tokenIds: ids, pixelFeatures: narrow })).toThrow(ShapeError);
    expect(() => model.languagePrefix(images, { features: pixels.features.slice(1), maskFeatures: pixels.maskFeatures })).toThrow(
      /pixelFeatures: expected \{ features: 3 tensors/,
    );
    expect(tf.memory().numTensors).toBe(before);
    for (const out of [given, other]) disposeFlowSegOutputs(out);
    tf.dispose([images, prefix, ...pixels.features, pixels.maskFeatures, shifted.maskFeatures, oneImage.maskFeatures, narrow.maskFeatures]);
    model.dispose();
  });

  it("refine: refuses an unknown value, and 'selected' in training", () => {
    const model = new FlowSegModel({ config: tinyConfig(), tokenizer });
    const images = sceneImages(1, 32);
    const { ids } = sequences(PAIRS.slice(0, 1));
    const before = tf.memory().numTensors;
    expect(() => model.forward({ images, tokenIds: ids, refine: 'best' as never })).toThrow(
      /refine: expected 'all' or 'selected', got "best"/,
    );
    expect(() => model.forward({ images, tokenIds: ids, refine: 'selected', training: true })).toThrow(
      /refine: 'selected' is for inference/,
    );
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
    model.dispose();
  });
});

describe('ablation switches', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
  });

  it('each step adds exactly the weights of the part it names and leaves every other weight as it was', () => {
    const base = tinyConfig();
    const weights = Object.fromEntries(
      (['baseline', 'sr', 'sr+cr', 'full'] as const).map((a) => {
        const model = new FlowSegModel({ config: withAblation(base, a), tokenizer });
        const w = new Map([...model.namedWeights()].map(([k, v]) => [k, { shape: v.shape, values: v.read().dataSync().slice() }]));
        model.dispose();
        return [a, w];
      }),
    );
    const step = (from: string, to: string, pattern: RegExp) => {
      const a = weights[from]!;
      const b = weights[to]!;
      const added = [...b.keys()].filter((k) => !a.has(k));
      const removed = [...a.keys()].filter((k) => !b.has(k));
      expect(removed).toEqual([]);
      expect(added.length).toBeGreaterThan(0);
      for (const name of added) expect(name).toMatch(pattern);
      for (const [name, v] of a) {
        expect(b.get(name)!.shape, name).toEqual(v.shape);
        expect(b.get(name)!.values, name).toEqual(v.values);
      }
    };
    step('baseline', 'sr', /^decoder\.layers\.\d+\.semantic_attn\./);
    step('sr', 'sr+cr', /^decoder\.layers\.\d+\.condition_refinement\./);
    step('sr+cr', 'full', /^bar\./);
    // Every decoder layer gets its part.
    const count = (to: string, from: string) => [...weights[to]!.keys()].filter((k) => !weights[from]!.has(k));
    expect(new Set(count('sr', 'baseline').map((k) => k.split('.')[2]))).toEqual(new Set(['0', '1', '2']));
    expect(new Set(count('sr+cr', 'sr').map((k) => k.split('.')[2]))).toEqual(new Set(['0', '1', '2']));
  });
});
