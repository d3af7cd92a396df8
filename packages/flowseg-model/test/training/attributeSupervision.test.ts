import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ValueError, getLayerWeights, selectBackend } from '@flowseg/core';
import { SetCriterion } from '@flowseg/mask2former-decoder';
import { COLORS, COLOR_RGB, generateSample } from '@flowseg/refseg-synth';
import {
  AttributeHead,
  REFSEG_ATTRIBUTE_CLASSES,
  attributeLoss,
  fromRefSegSample,
  refsegExamples,
  resolveFlowSegConfig,
  validateFlowSegConfig,
  stageObjective,
  type FlowSegConfig,
} from '../../src/index.js';
import { trainStage } from '../../src/node/index.js';
import { expectSameWeights, reloadThroughCheckpoint } from '../support/checkpointRoundTrip.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

const data = (start: number, count: number) =>
  refsegExamples('train', { attribute: 1, relational: 1 }, start, count, { width: 32, height: 32 });

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

/** Cross-entropy −log softmax(z)_k, straight from the definition. */
function crossEntropy(logits: number[], k: number): number {
  const max = Math.max(...logits);
  const z = logits.reduce((a, v) => a + Math.exp(v - max), 0);
  return -(logits[k]! - max - Math.log(z));
}

describe('attributeLoss', () => {
  it('is the per-group cross-entropy of the matched queries, averaged over queries and summed over groups', () => {
    const head = new AttributeHead({ hiddenDim: 4, classes: [3, 2], seed: 5 });
    const weights = getLayerWeights(head);
    const W = [0, 1].map((g) => weights.get(`group_${g}.kernel`)!.arraySync() as number[][]);
    const b = [0, 1].map((g) => weights.get(`group_${g}.bias`)!.arraySync() as number[]);
    tf.dispose([...weights.values()]);
    const q = [
      [[0.5, -1, 2, 0], [1, 1, 1, 1], [0, 0.3, -0.7, 2]],
      [[-2, 0.1, 0.4, 1], [0.2, 0.2, -1, 0], [3, -1, 0, 0.5]],
    ];
    const queries = tf.tensor3d(q);
    // Item 0: query 2 ↔ object 1, query 0 ↔ object 0. Item 1: query 1 ↔ object 0.
    const matches = [
      { queryIndices: Int32Array.from([0, 2]), targetIndices: Int32Array.from([0, 1]) },
      { queryIndices: Int32Array.from([1]), targetIndices: Int32Array.from([0]) },
    ];
    const attributes = [[[2, 0], [1, 1]], [[0, 1]]];
    const matched: [number[], number[]][] = [
      [q[0]![0]!, attributes[0]![0]!],
      [q[0]![2]!, attributes[0]![1]!],
      [q[1]![1]!, attributes[1]![0]!],
    ];
    let expected = 0;
    for (let g = 0; g < 2; g++) {
      let sum = 0;
      for (const [x, labels] of matched) {
        const logits = b[g]!.map((bias, k) => bias + x.reduce((a, v, i) => a + v * W[g]![i]![k]!, 0));
        sum += crossEntropy(logits, labels[g]!);
      }
      expected += sum / matched.length;
    }
    const before = tf.memory().numTensors;
    const loss = attributeLoss(head, queries, matches, attributes);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    queries.dispose();
    head.dispose();
  });

  it('is zero with nothing matched, and names the bad attribute row', () => {
    const head = new AttributeHead({ hiddenDim: 2, classes: [2, 3] });
    const queries = tf.ones([1, 2, 2]) as tf.Tensor3D;
    const none = attributeLoss(head, queries, [{ queryIndices: new Int32Array(0), targetIndices: new Int32Array(0) }], [[]]);
    expect(none.dataSync()[0]).toBe(0);
    none.dispose();
    const one = [{ queryIndices: Int32Array.from([1]), targetIndices: Int32Array.from([0]) }];
    expect(() => attributeLoss(head, queries, one, [[[1]]])).toThrow(/instanceAttributes\[0\]\[0\]: expected 2 class indices/);
    expect(() => attributeLoss(head, queries, one, [[[1, 3]]])).toThrow(/instanceAttributes\[0\]\[0\]\[1\]: expected a class in \[0, 3\), received 3/);
    expect(() => attributeLoss(head, queries, one, [[[-1, 0]]])).toThrow(ValueError);
    const outOfRange = [{ queryIndices: Int32Array.from([2]), targetIndices: Int32Array.from([0]) }];
    expect(() => attributeLoss(head, queries, outOfRange, [[[1, 1]]])).toThrow(/matches\[0\]\.queryIndices\[0\]: expected a query in \[0, 2\), received 2/);
    expect(() => attributeLoss(head, queries, [...one, ...one], [[[1, 1]], [[1, 1]]])).toThrow(/matches: expected one matching per batch item \(1\), received 2/);
    queries.dispose();
    head.dispose();
  });
});

describe('AttributeHead', () => {
  it('gives one [rows, classes] logit tensor per group, leak-free, and names a wrong channel count', () => {
    const head = new AttributeHead({ hiddenDim: 8, classes: [6, 2], seed: 1 });
    const queries = tf.randomNormal([5, 8], 0, 1, 'float32', 2) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const logits = head.forward(queries);
    expect(logits.map((t) => t.shape)).toEqual([[5, 6], [5, 2]]);
    tf.dispose(logits);
    expect(tf.memory().numTensors).toBe(before);
    const wide = tf.zeros([5, 9]) as tf.Tensor2D;
    expect(() => head.forward(wide)).toThrow(/queries/);
    expect(() => new AttributeHead({ hiddenDim: 8, classes: [1] })).toThrow(/classes: expected a list of class counts/);
    tf.dispose([queries, wide]);
    head.dispose();
  });
});

describe('attribute head in the model', () => {
  it('is built only when attributeClasses is set, validated, and survives a checkpoint round trip', async () => {
    expect(() => resolveFlowSegConfig({ attributeClasses: [6, 1] })).toThrow(/attributeClasses: expected a list of class counts, each an integer ≥ 2/);
    expect(() => resolveFlowSegConfig({ attributeClasses: [2.5] as number[] })).toThrow(ValueError);
    // Configs written before the field existed still validate (no head).
    const { attributeClasses: _dropped, ...old } = resolveFlowSegConfig();
    expect(() => validateFlowSegConfig(old as FlowSegConfig)).not.toThrow();

    const plain = tinyModel();
    expect(plain.attributeHead).toBeNull();
    expect([...plain.namedWeights().keys()].some((k) => k.startsWith('attribute_head.'))).toBe(false);
    plain.dispose();

    const model = tinyModel({ attributeClasses: [6, 6, 2] });
    const names = [...model.namedWeights().keys()].filter((k) => k.startsWith('attribute_head.'));
    expect(names.sort()).toEqual([0, 1, 2].flatMap((g) => [`attribute_head.group_${g}.bias`, `attribute_head.group_${g}.kernel`]).sort());
    const loaded = await reloadThroughCheckpoint(model);
    expect(loaded.config.attributeClasses).toEqual([6, 6, 2]);
    expectSameWeights(loaded.attributeHead!, model.attributeHead!);
    loaded.dispose();
    model.dispose();
  });

  it('the segmentor stage trains the head: its loss falls, its weights move, no tensor leaks', async () => {
    const model = tinyModel({ attributeClasses: [...REFSEG_ATTRIBUTE_CLASSES] });
    const start = getLayerWeights(model.attributeHead!);
    const before = tf.memory().numTensors;
    // One fixed batch: the head must fit it (fresh scenes every step would make 16 steps noisy).
    const batch = data(0, 4);
    const run = await trainStage(model, { stage: 'segmentor', steps: 16, batchSize: 4, data: () => batch, learningRate: 5e-3, progress: null });
    expect(tf.memory().numTensors).toBe(before);
    const attr = run.history.map((h) => h.metrics['attributes']!);
    for (const v of attr) expect(Number.isFinite(v)).toBe(true);
    const first = attr.slice(0, 4).reduce((a, v) => a + v, 0);
    const last = attr.slice(-4).reduce((a, v) => a + v, 0);
    expect(last, `attribute loss ${first / 4} → ${last / 4}`).toBeLessThan(first);
    const end = getLayerWeights(model.attributeHead!);
    for (const [k, v] of start) expect(Array.from(end.get(k)!.dataSync()), k).not.toEqual(Array.from(v.dataSync()));
    tf.dispose([...start.values(), ...end.values()]);
    model.dispose();
  }, 300_000);

  it('refuses segmentor examples without one attribute row per instance', () => {
    const model = tinyModel({ attributeClasses: [...REFSEG_ATTRIBUTE_CLASSES] });
    const [example] = data(0, 1);
    const stripped = { ...example!, instanceAttributes: undefined };
    const criterion = new SetCriterion({ numClasses: 1, numPoints: 64 });
    const before = tf.memory().numTensors;
    expect(() => stageObjective(model, 'segmentor', [stripped], criterion)).toThrow(
      /examples\[0\]\.instanceAttributes: the model has an attribute head/,
    );
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('joint-stage attribute supervision (jointAttributes)', () => {
  it("trains the phrase side: the conditions' attribute loss falls on a fixed batch, no tensor leaks", async () => {
    const model = tinyModel({ attributeClasses: [...REFSEG_ATTRIBUTE_CLASSES] });
    const before = tf.memory().numTensors;
    const batch = data(0, 4);
    const run = await trainStage(model, {
      stage: 'joint',
      steps: 16,
      batchSize: 4,
      data: () => batch,
      learningRate: 5e-3,
      jointAttributes: true,
      progress: null,
    });
    expect(tf.memory().numTensors).toBe(before);
    for (const key of ['attributes', 'conditionAttributes', 'selection', 'lm', 'seg']) {
      for (const h of run.history) expect(Number.isFinite(h.metrics[key]), key).toBe(true);
    }
    const cond = run.history.map((h) => h.metrics['conditionAttributes']!);
    const first = cond.slice(0, 4).reduce((a, v) => a + v, 0);
    const last = cond.slice(-4).reduce((a, v) => a + v, 0);
    expect(last, `condition attribute loss ${first / 4} → ${last / 4}`).toBeLessThan(first);
    // Without the option the joint stage reports no attribute terms.
    const plain = await trainStage(model, { stage: 'joint', steps: 1, batchSize: 4, data: () => batch, progress: null });
    expect(Object.keys(plain.history[0]!.metrics).sort()).toEqual(['lm', 'seg', 'selection']);
    model.dispose();
  }, 300_000);

  it('refuses a model without an attribute head, and examples without targetInstances', () => {
    const criterion = new SetCriterion({ numClasses: 1, numPoints: 64 });
    const [example] = data(0, 1);
    const plain = tinyModel();
    const model = tinyModel({ attributeClasses: [...REFSEG_ATTRIBUTE_CLASSES] });
    const before = tf.memory().numTensors;
    expect(() => stageObjective(plain, 'joint', [example!], criterion, undefined, { jointAttributes: true })).toThrow(
      /jointAttributes: the model has no attribute head/,
    );
    expect(() =>
      stageObjective(model, 'joint', [{ ...example!, targetInstances: undefined }], criterion, undefined, { jointAttributes: true }),
    ).toThrow(/examples\[0\]\.targetInstances: joint attribute supervision needs one instance index per target mask/);
    expect(() =>
      stageObjective(model, 'joint', [{ ...example!, targetInstances: [99] }], criterion, undefined, { jointAttributes: true }),
    ).toThrow(/examples\[0\]\.targetInstances\[0\]: expected an object in \[0, \d+\), received 99/);
    expect(tf.memory().numTensors).toBe(before);
    plain.dispose();
    model.dispose();
  });
});

describe('fromRefSegSample attributes', () => {
  it("give each instance its drawn colour (checked against the image's pixels) and valid shape/size classes", () => {
    for (let i = 0; i < 5; i++) {
      const sample = generateSample('train', 'attribute', i);
      const example = fromRefSegSample(sample);
      expect(example.instanceAttributes).toHaveLength(example.instanceMasks.length);
      example.instanceMasks.forEach((mask, k) => {
        const row = example.instanceAttributes![k]!;
        row.forEach((c, g) => expect(c >= 0 && c < REFSEG_ATTRIBUTE_CLASSES[g]!).toBe(true));
        // Mean colour of the visible pixels → the nearest palette colour.
        const sum = [0, 0, 0];
        let n = 0;
        mask.forEach((v, p) => {
          if (!v) return;
          for (let ch = 0; ch < 3; ch++) sum[ch]! += example.image[p * 3 + ch]!;
          n++;
        });
        if (n === 0) return;
        const mean = sum.map((s) => s / n);
        const nearest = COLORS.map((c) => COLOR_RGB[c].reduce((a, v, ch) => a + (v - mean[ch]!) ** 2, 0));
        expect(nearest.indexOf(Math.min(...nearest)), `sample ${i} object ${k}`).toBe(row[1]);
      });
    }
  });

  it('name each target by the instance whose mask it is', () => {
    for (const family of ['attribute', 'multi', 'empty'] as const) {
      for (let i = 0; i < 4; i++) {
        const example = fromRefSegSample(generateSample('train', family, i));
        expect(example.targetInstances).toHaveLength(example.targetMasks.length);
        example.targetInstances!.forEach((t, k) => expect(example.instanceMasks[t]).toEqual(example.targetMasks[k]));
      }
    }
  });
});
