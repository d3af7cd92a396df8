/**
 * `npm run probe:selection [-- --checkpoint dir] [--family attribute] [--train 1920] [--test 160]`:
 * is the information needed to pick the referent present in a trained model's features?
 *
 * Runs the checkpoint teacher-forced on single-target samples of one family and keeps, per
 * sample, the output queries `Q_out` of every candidate, the target's conditions before (`C⁽⁰⁾`)
 * and after (`C⁽ᴸ⁾`) the decoder, and each candidate's IoU with the ground truth. Then fits
 * small scorers on the train samples — `score_i = f(Q_out,i) · g(c)`, `f`/`g` linear or one-hidden-
 * layer MLPs on standardized features — with a soft target on every candidate within 80 % of the
 * best IoU, and reports the mean IoU of the candidate each picks on the test samples (a gIoU),
 * next to the model's own selection and the oracle (best candidate). If a probe does much
 * better than the model, its selector is under-trained; if no probe gets near the oracle, the
 * features do not carry what the phrase names. With an attribute head it also reports the head's
 * accuracy per attribute group on the oracle candidate and on the condition. Last line: one JSON
 * object.
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { imageBatch, maskOverlap, refsegExamples, sampleIoU, sequenceBatch, type FlowSegModel } from '@flowseg/flowseg-model';
import { loadCheckpoint } from '@flowseg/flowseg-model/node';
import type { Family } from '@flowseg/refseg-synth';
import { argValue, startWasmBackend } from './scriptSetup.js';

/** What one sample contributes. */
interface ProbeSample {
  /** Output queries `[queries][channels]`. */
  readonly queries: number[][];
  /** `C⁽⁰⁾` of the target's first condition `[channels]`. */
  readonly initialCondition: number[];
  /** `C⁽ᴸ⁾` of the target's first condition `[channels]`. */
  readonly refinedCondition: number[];
  /** IoU of each candidate with the target `[queries]`. */
  readonly iou: number[];
  /** The model's own pick. */
  readonly selected: number;
  /**
   * With an attribute head: the target's attribute classes, and the head's argmax on the
   * oracle candidate's features and on the target's condition `C⁽ᴸ⁾`.
   */
  readonly readout: { readonly truth: readonly number[]; readonly oracleQuery: number[]; readonly condition: number[] } | null;
}

const PROBE_EPOCHS = 400;
const PROBE_HIDDEN = 64;

function positiveArg(name: string, fallback: number): number {
  const raw = argValue(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}: expected a positive integer, received ${raw}`);
  return value;
}

/** Teacher-forced features of `count` single-target samples of a split (8 per forward). */
function extract(model: FlowSegModel, family: Family, split: 'train' | 'test', count: number): ProbeSample[] {
  const out: ProbeSample[] = [];
  const { height, width } = model.config.image;
  const maxTokens = model.config.languageModel.maxPositions - model.numPrefixTokens;
  const numQueries = model.config.decoder.numQueries;
  for (let start = 0; out.length < count; start += 8) {
    const examples = refsegExamples(split, { [family]: 1 }, start, 8).filter((e) => e.targetMasks.length === 1);
    if (examples.length === 0) continue;
    const seq = sequenceBatch(model.tokenizer, examples, maxTokens);
    const images = imageBatch(examples);
    const fwd = model.forward({ images, tokenIds: seq.ids, attentionMask: seq.attentionMask });
    const values = tf.tidy(() => {
      const ids = tf.tensor2d(seq.ids, undefined, 'int32');
      const mask = tf.tensor2d(seq.attentionMask, undefined, 'int32');
      const lm = model.languageModel.forward({ imageTokens: model.languagePrefix(images), tokenIds: ids, attentionMask: mask });
      const hiddenStates = model.adapterHiddenStates(lm.hiddenStates, ids);
      const initial = model.adapter.forward({ tokenIds: seq.ids, hiddenStates, attentionMask: seq.attentionMask }).conditions;
      const rows = fwd.candidateLogits.shape[0];
      const [mh, mw] = model.maskSize;
      const up = model.upsampleToImage(tf.reshape(fwd.candidateLogits, [rows * numQueries, mh, mw]) as tf.Tensor3D);
      // Binary candidates at image size, read back once per batch and scored like evaluateModel does.
      const candidates = tf.greater(up, 0).dataSync();
      const pixels = height * width;
      const iou = examples.map((e, r) =>
        Array.from({ length: numQueries }, (_, q) => {
          const at = (r * numQueries + q) * pixels;
          return sampleIoU(maskOverlap(candidates.subarray(at, at + pixels), e.targetMasks[0]!));
        }),
      );
      const first = (t: tf.Tensor3D) => tf.squeeze(tf.slice(t, [0, 0, 0], [-1, 1, -1]), [1]);
      const head = model.attributeHead;
      // One read per call: the argmax of every group, stacked [groups, rows].
      const classes = (logits: tf.Tensor2D[]) => tf.stack(logits.map((l) => tf.argMax(l, 1))).arraySync() as number[][];
      const headOf = head === null ? undefined : {
        queries: classes(head.forward(tf.reshape(fwd.queries, [rows * numQueries, -1]) as tf.Tensor2D)),
        condition: classes(head.forward(first(fwd.conditions) as tf.Tensor2D)),
      };
      return {
        headOf,
        queries: fwd.queries.arraySync(),
        initial: first(initial).arraySync() as number[][],
        refined: first(fwd.conditions).arraySync() as number[][],
        iou,
        selected: Array.from(fwd.selectedIndex.dataSync()),
      };
    });
    values.iou.forEach((iou, r) => {
      const e = examples[r]!;
      const truth = e.instanceAttributes?.[e.targetInstances?.[0] ?? -1];
      const h = values.headOf ?? null;
      const best = argmax(iou);
      out.push({
        queries: values.queries[r]!,
        initialCondition: values.initial[r]!,
        refinedCondition: values.refined[r]!,
        iou,
        selected: values.selected[r]!,
        readout: h && truth ? { truth, oracleQuery: h.queries.map((g) => g[r * numQueries + best]!), condition: h.condition.map((g) => g[r]!) } : null,
      });
    });
    tf.dispose([images, ...Object.values(fwd).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
    tf.dispose(fwd.auxOutputs.flatMap((a) => [a.predLogits, a.predMasks]));
  }
  return out.slice(0, count);
}

/**
 * Accuracy per attribute group of the model's attribute head on the test samples, read from
 * the oracle candidate's features (does the object side know what it shows?) and from the
 * target's condition (does the phrase side know what it names?); `null` without a head.
 */
function attributeReadout(samples: readonly ProbeSample[]): { oracleQuery: number[]; condition: number[] } | null {
  const withReadout = samples.filter((s) => s.readout !== null);
  if (withReadout.length === 0) return null;
  const groups = withReadout[0]!.readout!.truth.length;
  const accuracy = (pick: (s: ProbeSample) => readonly number[]) =>
    Array.from({ length: groups }, (_, g) => withReadout.filter((s) => pick(s)[g] === s.readout!.truth[g]).length / withReadout.length);
  return { oracleQuery: accuracy((s) => s.readout!.oracleQuery), condition: accuracy((s) => s.readout!.condition) };
}

/** Mean IoU of the candidate with the highest score in each sample. */
function pickedIoU(samples: readonly ProbeSample[], pick: (s: ProbeSample, i: number) => number): number {
  return samples.reduce((a, s, i) => a + s.iou[pick(s, i)]!, 0) / samples.length;
}

function argmax(values: readonly number[]): number {
  return values.indexOf(Math.max(...values));
}

/** Fit `score_i = f(Q_out,i) · g(c)` on `train`, return the picked-candidate IoU on train and test. */
function fitProbe(
  train: readonly ProbeSample[],
  test: readonly ProbeSample[],
  condition: (s: ProbeSample) => number[],
  hidden: boolean,
): { train: number; test: number } {
  return tf.tidy(() => {
    const q = (set: readonly ProbeSample[]) => tf.tensor3d(set.map((s) => s.queries));
    const c = (set: readonly ProbeSample[]) => tf.tensor2d(set.map(condition));
    const qTrain = q(train);
    const cTrain = c(train);
    const target = tf.tensor2d(
      train.map((s) => {
        const best = Math.max(...s.iou);
        const near = s.iou.map((v): number => (best > 0 && v >= 0.8 * best ? 1 : 0));
        const total = near.reduce((a, v) => a + v, 0);
        return total === 0 ? s.iou.map(() => 1 / s.iou.length) : near.map((v) => v / total);
      }),
    );
    const qStats = tf.moments(qTrain, [0, 1]);
    const cStats = tf.moments(cTrain, 0);
    const standardize = (x: tf.Tensor, m: { mean: tf.Tensor; variance: tf.Tensor }) => tf.div(tf.sub(x, m.mean), tf.add(tf.sqrt(m.variance), 1e-4));
    const [numQueries, dq] = [qTrain.shape[1], qTrain.shape[2]];
    const dc = cTrain.shape[1];
    const init = (rows: number, cols: number, seed: number) => tf.variable(tf.randomNormal([rows, cols], 0, 1 / Math.sqrt(rows), 'float32', seed));
    const side = (inputs: number, seed: number) => (hidden ? [init(inputs, PROBE_HIDDEN, seed), init(PROBE_HIDDEN, PROBE_HIDDEN, seed + 1)] : [init(inputs, PROBE_HIDDEN, seed)]);
    const fq = side(dq, 1);
    const gc = side(dc, 3);
    const apply = (x: tf.Tensor2D, weights: tf.Variable[]) =>
      weights.reduce<tf.Tensor2D>((h, w, i) => tf.matMul(i > 0 ? tf.relu(h) : h, w), x);
    const score = (qs: tf.Tensor3D, cs: tf.Tensor2D) => {
      const rows = qs.shape[0];
      const a = tf.reshape(apply(tf.reshape(standardize(qs, qStats), [rows * numQueries, dq]) as tf.Tensor2D, fq), [rows, numQueries, PROBE_HIDDEN]);
      const b = apply(standardize(cs, cStats) as tf.Tensor2D, gc);
      return tf.squeeze(tf.matMul(a, tf.expandDims(b, 2)), [2]) as tf.Tensor2D;
    };
    const optimizer = tf.train.adam(3e-3);
    for (let epoch = 0; epoch < PROBE_EPOCHS; epoch++) {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(target, score(qTrain, cTrain)) as tf.Scalar);
    }
    const picks = (set: readonly ProbeSample[]) => (score(q(set), c(set)).arraySync() as number[][]).map(argmax);
    const trainPicks = picks(train);
    const testPicks = picks(test);
    optimizer.dispose();
    tf.dispose([...fq, ...gc]);
    return { train: pickedIoU(train, (_, i) => trainPicks[i]!), test: pickedIoU(test, (_, i) => testPicks[i]!) };
  });
}

async function main(): Promise<void> {
  const checkpoint = resolve(argValue('--checkpoint') ?? 'packages/flowseg-model/checkpoints/flowseg-small');
  const family = (argValue('--family') ?? 'attribute') as Family;
  // The probe scores one target per sample: the multi and empty families have none of those.
  if (!['attribute', 'relational', 'reasoning'].includes(family)) {
    throw new Error(`--family: expected attribute, relational or reasoning (single-target families), received ${family}`);
  }
  const trainCount = positiveArg('--train', 1920);
  const testCount = positiveArg('--test', 160);
  const backend = await startWasmBackend();
  const model = await loadCheckpoint(checkpoint);
  const started = performance.now();
  const train = extract(model, family, 'train', trainCount);
  const test = extract(model, family, 'test', testCount);
  model.dispose();
  const probes = {
    linear_refined: fitProbe(train, test, (s) => s.refinedCondition, false),
    mlp_refined: fitProbe(train, test, (s) => s.refinedCondition, true),
    mlp_initial: fitProbe(train, test, (s) => s.initialCondition, true),
  };
  const result = {
    checkpoint,
    family,
    backend,
    trainSamples: train.length,
    testSamples: test.length,
    oracle: pickedIoU(test, (s) => argmax(s.iou)),
    model: pickedIoU(test, (s) => s.selected),
    chance: test.reduce((a, s) => a + s.iou.reduce((x, v) => x + v, 0) / s.iou.length, 0) / test.length,
    probes,
    attributeReadout: attributeReadout(test),
    seconds: +((performance.now() - started) / 1000).toFixed(1),
  };
  console.log(`selection probe, ${family}, ${checkpoint} (${train.length} train / ${test.length} test samples, teacher-forced)`);
  console.log(`mean IoU of the picked candidate on test: oracle ${result.oracle.toFixed(3)}, model ${result.model.toFixed(3)}, random candidate ${result.chance.toFixed(3)}`);
  for (const [name, p] of Object.entries(probes)) console.log(`probe ${name.padEnd(15)} train ${p.train.toFixed(3)}  test ${p.test.toFixed(3)}`);
  const readout = result.attributeReadout;
  if (readout) {
    const line = (acc: number[]) => acc.map((a) => a.toFixed(3)).join(' / ');
    console.log(`attribute head accuracy per group on test: oracle candidate ${line(readout.oracleQuery)}, condition ${line(readout.condition)}`);
  }
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`probe failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
