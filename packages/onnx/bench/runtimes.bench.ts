/**
 * `npm run bench:runtimes` (= `npx tsx packages/onnx/bench/runtimes.bench.ts`): forward latency of
 *   - the whole FlowSeg model at the `small` preset (one 64×64 image, one `<SEG>` with two
 *     phrases): `FlowSegModel.forward` on TF.js vs `OnnxFlowSegRunner.forward` on the graphs
 *     `exportFlowSegOnnx` wrote from the same model (tf.Tensors in and out, JS glue included);
 *   - the FlowSeg decoder (Mask2Former with BSF layers, 4 conditions, query offset) at the
 *     paper's configuration (N=200, L=9, D=256, scales 8²/16²/32², mask features 64², batch 1):
 *     `Mask2FormerDecoder.forward` vs its exported graph (typed arrays in and out);
 *   - the same MultiHeadAttention forward (B=2, Nq=200, Nk=1024, D=256, 8 heads, keyPos added)
 *     and a 512² matmul,
 * each on
 *   - TF.js wasm, 1 thread   (measured in a child process: wasm's thread count is fixed when
 *                             wasm first starts in a process, so one process cannot measure both),
 *   - TF.js wasm, threaded   (selectBackend('wasm') default: one thread per logical core),
 *   - ONNX Runtime (onnxruntime-node), intraOpNumThreads 1 and 2 (and 2 with allowSpinning: false), on the model exportOnnx wrote
 *     from the very same layer, fed typed arrays (runtime only) and, at 2 threads, tf.Tensors
 *     through OnnxSession.run (download, run, upload: what a TF.js caller pays).
 * ORT's 512² matmul (B as an initializer, A fed) is the machine reference. Every figure comes
 * from this one invocation, as median and best run (on a shared machine other processes only
 * add time, so "best" is the better estimate of the uncontended rate); the JSON records the
 * load average. The last line is one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MultiHeadAttention, selectBackend } from '@flowseg/core';
import type { FlowSegOutputs } from '@flowseg/flowseg-model';
import { OnnxFlowSegRunner, OnnxGraphBuilder, OnnxSession, exportFlowSegOnnx, exportOnnx } from '@flowseg/onnx';
import { printTable, timeMs, type Times } from './benchUtil.js';
import { DECODER_CONFIG, DECODER_MASK, DECODER_SIZES, decoderCase, modelCase } from './benchCases.js';

const B = 2, NQ = 200, NK = 1024, D = 256, H = 8, N = 512;
// q/k/v/out projections + QKᵀ + PV, 2 FLOPs per multiply-add (same count as core's attention bench).
const MHA_FLOPS = 2 * B * D * (2 * NQ * D + 2 * NK * D + 2 * NQ * NK);
const MATMUL_FLOPS = 2 * N ** 3;
const gflops = (flops: number, ms: number) => flops / ms / 1e6;

interface Timing {
  mha: Times;
  matmul: Times;
  /** Whole model, small preset. */
  model: Times;
  /** Decoder, paper configuration. */
  decoder: Times;
  device: string;
}

/** Every tensor of a FlowSegOutputs. */
function outputTensors(out: FlowSegOutputs): tf.Tensor[] {
  return Object.values(out).flatMap((v: unknown) =>
    v instanceof tf.Tensor ? [v] : Array.isArray(v) ? v.flatMap((p: { predLogits: tf.Tensor; predMasks: tf.Tensor }) => [p.predLogits, p.predMasks]) : [],
  );
}

const MODEL_RUNS = 9;
// Eleven runs (~6 s on one thread): with five, the threaded side's best and median moved by ~10 % between runs of this bench.
const DECODER_RUNS = 11;

function makeInputs() {
  const mha = new MultiHeadAttention({ embedDim: D, numHeads: H, seed: 1 });
  mha.ensureBuilt();
  const query = tf.randomNormal([B, NQ, D], 0, 1, 'float32', 1) as tf.Tensor3D;
  const memory = tf.randomNormal([B, NK, D], 0, 1, 'float32', 2) as tf.Tensor3D;
  const keyPos = tf.randomNormal([B, NK, D], 0, 0.1, 'float32', 3) as tf.Tensor3D;
  const a = tf.randomNormal([N, N], 0, 1, 'float32', 4);
  const b = tf.randomNormal([N, N], 0, 1, 'float32', 5);
  return { mha, query, memory, keyPos, a, b };
}

async function timeTfjs(device: string): Promise<Timing> {
  const { mha, query, memory, keyPos, a, b } = makeInputs();
  const read = (t: tf.Tensor) => {
    t.dataSync();
    t.dispose();
  };
  const mhaT = await timeMs(() => read(mha.forward({ query, key: memory, value: memory, keyPos }).output), 9);
  const matmulT = await timeMs(() => read(tf.matMul(a, b)), 21);
  tf.dispose([query, memory, keyPos, a, b]);
  mha.dispose();
  const mc = modelCase();
  const modelT = await timeMs(() => {
    const out = mc.model.forward({ images: mc.images, tokenIds: mc.tokenIds, attentionMask: mc.attentionMask, auxOutputs: false });
    out.selectedLogits.dataSync();
    tf.dispose(outputTensors(out));
  }, MODEL_RUNS);
  tf.dispose(mc.images);
  mc.model.dispose();
  const dc = decoderCase();
  const decoderT = await timeMs(() => {
    const out = dc.decoder.forward({
      features: dc.features,
      maskFeatures: dc.maskFeatures,
      queryOffset: dc.queryOffset,
      conditions: { conditions: dc.conditions, conditionMask: dc.conditionMask },
      auxOutputs: false,
    });
    out.predMasks.dataSync();
    tf.dispose([out.predLogits, out.predMasks, out.queries, ...(out.conditions ? [out.conditions.conditions, out.conditions.conditionMask] : [])]);
    tf.dispose(out.auxOutputs.flatMap((p) => [p.predLogits, p.predMasks]));
  }, DECODER_RUNS, 1);
  tf.dispose([...dc.features, dc.maskFeatures, dc.queryOffset, dc.conditions, dc.conditionMask]);
  dc.decoder.dispose();
  return { mha: mhaT, matmul: matmulT, model: modelT, decoder: decoderT, device };
}

if (process.argv.includes('--tfjs-child')) {
  // Child: TF.js wasm with the thread count given on the command line; prints one JSON line.
  const threads = Number(process.argv[process.argv.indexOf('--tfjs-child') + 1]);
  const sel = await selectBackend('wasm', { wasmThreads: threads });
  console.log(JSON.stringify(await timeTfjs(sel.device ?? 'wasm')));
  process.exit(0);
}

const loadBefore = loadavg()[0]!;

// 1. TF.js wasm, single thread, in a child process (same script, same loader flags).
const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--tfjs-child', '1'], {
  encoding: 'utf8',
  maxBuffer: 1 << 24,
});
if (child.status !== 0) throw new Error(`single-thread child failed: ${child.stderr}`);
const tfjs1 = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Timing;

// 2. TF.js wasm, threaded (the default), in this process.
const selection = await selectBackend('wasm');
const tfjsMt = await timeTfjs(selection.device ?? 'wasm');

// 3. ONNX Runtime on the exported layer and on a plain MatMul graph.
const { mha, query, memory, keyPos, a, b } = makeInputs();
const mhaBytes = exportOnnx(mha, { inputs: ['query', 'key', 'value', 'keyPos'] });
const g = new OnnxGraphBuilder();
g.addInput('a', 'float32', [N, N]);
g.addOutput(g.op('MatMul', ['a', g.addInitializer('b', b)], {}, 'c'));
const matmulBytes = g.serialize();
const typed = (t: tf.Tensor) => ({ dtype: 'float32' as const, dims: t.shape, data: t.dataSync() as Float32Array });
const mhaFeeds = { query: typed(query), key: typed(memory), value: typed(memory), keyPos: typed(keyPos) };
const matmulFeeds = { a: typed(a) };
const reference = mha.forward({ query, key: memory, value: memory, keyPos }).output;

// The model and the decoder, exported from the very same (seeded) weights the TF.js rows ran.
const mc = modelCase();
const modelInputs = { images: mc.images, tokenIds: mc.tokenIds, attentionMask: mc.attentionMask };
const modelRef = mc.model.forward(modelInputs);
const modelGraphs = exportFlowSegOnnx(mc.model);
const dc = decoderCase();
const decoderBytes = exportOnnx(dc.decoder, {
  inputs: [
    ...DECODER_SIZES.map(([h, w], i) => ({ name: `features${i}`, dims: ['batch', h, w, DECODER_CONFIG.hiddenDim] })),
    { name: 'maskFeatures', dims: ['batch', ...DECODER_MASK, DECODER_CONFIG.maskDim] },
    'queryOffset',
    'conditions',
    'conditionMask',
  ],
  outputs: ['predLogits', 'predMasks'],
});
const decoderFeeds = {
  features0: typed(dc.features[0]!),
  features1: typed(dc.features[1]!),
  features2: typed(dc.features[2]!),
  maskFeatures: typed(dc.maskFeatures),
  queryOffset: typed(dc.queryOffset),
  conditions: typed(dc.conditions),
  conditionMask: typed(dc.conditionMask),
};
const decoderRef = dc.decoder.forward({
  features: dc.features,
  maskFeatures: dc.maskFeatures,
  queryOffset: dc.queryOffset,
  conditions: { conditions: dc.conditions, conditionMask: dc.conditionMask },
  auxOutputs: false,
});

/** max |a − b| / max |b|. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

interface OrtTiming extends Timing {
  mhaTf: Times;
  relErr: number;
  modelRelErr: number;
  decoderRelErr: number;
}
// ORT with 1 and 2 intra-op threads (ORT's default spinning thread pool), and 2 threads whose
// idle workers sleep (allowSpinning: false), which matters on a machine shared with other jobs.
const ortConfigs = [
  { key: 1, threads: 1, allowSpinning: undefined },
  { key: 2, threads: 2, allowSpinning: undefined },
  { key: 3, threads: 2, allowSpinning: false },
] as const;
const ort: Record<number, OrtTiming> = {};
for (const { key, threads, allowSpinning } of ortConfigs) {
  const sessionOptions = { intraOpNumThreads: threads, ...(allowSpinning === undefined ? {} : { allowSpinning }) };
  const s = await OnnxSession.create(mhaBytes, sessionOptions);
  const m = await OnnxSession.create(matmulBytes, sessionOptions);
  const mhaT = await timeMs(async () => void (await s.runTyped(mhaFeeds)), 21);
  const matmulT = await timeMs(async () => void (await m.runTyped(matmulFeeds)), 41);
  const mhaTf = await timeMs(async () => {
    const { output } = await s.run({ query, key: memory, value: memory, keyPos });
    await output!.data();
    output!.dispose();
  }, 21);
  const { output } = await s.run({ query, key: memory, value: memory, keyPos });
  const relErr = tf.tidy(() => tf.max(tf.abs(tf.sub(output!, reference))).dataSync()[0]! / tf.max(tf.abs(reference)).dataSync()[0]!);
  output!.dispose();
  await s.release();
  await m.release();

  const runner = await OnnxFlowSegRunner.create(modelGraphs, sessionOptions);
  const modelT = await timeMs(async () => {
    const out = await runner.forward(modelInputs);
    tf.dispose(outputTensors(out));
  }, 2 * MODEL_RUNS + 1);
  const modelOut = await runner.forward(modelInputs);
  const modelRelErr = relError(modelOut.candidateLogits.dataSync(), modelRef.candidateLogits.dataSync());
  tf.dispose(outputTensors(modelOut));
  await runner.release();

  const d = await OnnxSession.create(decoderBytes, sessionOptions);
  const decoderT = await timeMs(async () => void (await d.runTyped(decoderFeeds)), 2 * DECODER_RUNS + 1, 1);
  const decOut = await d.runTyped(decoderFeeds, { outputs: ['predMasks'] });
  const decoderRelErr = relError(decOut['predMasks']!.data as Float32Array, decoderRef.predMasks.dataSync());
  await d.release();
  ort[key] = {
    mha: mhaT,
    matmul: matmulT,
    model: modelT,
    decoder: decoderT,
    mhaTf,
    relErr,
    modelRelErr,
    decoderRelErr,
    device: `onnxruntime-node ×${threads}${allowSpinning === false ? ' no-spin' : ''}`,
  };
}

const engines: Array<[string, Timing]> = [
  ['TF.js wasm', tfjs1],
  ['TF.js wasm', tfjsMt],
  ['ORT node', ort[1]!],
  ['ORT node', ort[2]!],
  ['ORT node', ort[3]!],
];
printTable(
  engines.map(([engine, t]) => ({
    engine,
    threads: t.device.replace('onnxruntime-node ', ''),
    'MHA ms (median)': t.mha.median,
    'MHA ms (best)': t.mha.best,
    'MHA GFLOP/s (best)': gflops(MHA_FLOPS, t.mha.best),
    'MHA speed-up vs TF.js ×1 (best)': tfjs1.mha.best / t.mha.best,
    'matmul512 ms (median)': t.matmul.median,
    'matmul512 GFLOP/s (best)': gflops(MATMUL_FLOPS, t.matmul.best),
  })),
);
console.log('');
printTable(
  engines.map(([engine, t]) => ({
    engine,
    threads: t.device.replace('onnxruntime-node ', ''),
    'model (small) ms median': t.model.median,
    'model ms best': t.model.best,
    'model speed-up vs TF.js ×1 (best)': tfjs1.model.best / t.model.best,
    'decoder (paper) ms median': t.decoder.median,
    'decoder ms best': t.decoder.best,
    'decoder speed-up vs TF.js ×1 (best)': tfjs1.decoder.best / t.decoder.best,
  })),
);
const o2 = ort[2]!;
console.log(
  `\nORT ×2 MHA through OnnxSession.run with tf.Tensors: ${o2.mhaTf.median.toFixed(2)} ms median ` +
    `(${o2.mha.median.toFixed(2)} ms with typed arrays); ORT vs TF.js output max rel. error ${o2.relErr.toExponential(2)}; ` +
    `load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
);
/** Figures of one workload: every engine's median and best, and the two targets. */
function workload(key: 'model' | 'decoder') {
  const rows = { tfjs_wasm_1t: tfjs1, tfjs_wasm_mt: tfjsMt, ort_1t: ort[1]!, ort_2t: ort[2]!, ort_2t_no_spin: ort[3]! };
  const best = Math.min(...Object.values(rows).map((t) => t[key].best));
  const ortBest = Math.min(ort[1]![key].best, ort[2]![key].best, ort[3]![key].best);
  const tfjsBest = Math.min(tfjs1[key].best, tfjsMt[key].best);
  return {
    ...Object.fromEntries(Object.entries(rows).map(([name, t]) => [name, { ms_median: t[key].median, ms_best: t[key].best }])),
    // Target: our fastest path ≥ 0.8× ORT on an exported graph (ORT on our graph is one of our paths).
    fastest_path_vs_ort_best: ortBest / best,
    tfjs_best_vs_ort_best: ortBest / tfjsBest,
    // Target: threaded wasm ≥ 1.6× single-threaded on 2 cores.
    tfjs_threaded_vs_1t_best: tfjs1[key].best / tfjsMt[key].best,
    tfjs_threaded_vs_1t_median: tfjs1[key].median / tfjsMt[key].median,
    ort_2t_vs_1t_best: ort[1]![key].best / ort[2]![key].best,
    ort_2t_no_spin_vs_1t_median: ort[1]![key].median / ort[3]![key].median,
    ort_vs_tfjs_max_rel_err: key === 'model' ? ort[2]!.modelRelErr : ort[2]!.decoderRelErr,
  };
}
console.log(
  `model (small): ORT vs TF.js candidate logits max rel. error ${ort[2]!.modelRelErr.toExponential(2)}; ` +
    `decoder (paper): predMasks max rel. error ${ort[2]!.decoderRelErr.toExponential(2)}`,
);
const summary = (t: Timing) => ({
  device: t.device,
  mha_ms_median: t.mha.median,
  mha_ms_best: t.mha.best,
  mha_gflops_best: gflops(MHA_FLOPS, t.mha.best),
  matmul512_ms_median: t.matmul.median,
  matmul512_ms_best: t.matmul.best,
  matmul512_gflops_best: gflops(MATMUL_FLOPS, t.matmul.best),
});
console.log(
  JSON.stringify({
    shape: { B, NQ, NK, D, heads: H, matmul: N },
    // Other processes on the machine skew every row; the 1-minute load averages say how busy it was.
    machine: { cores: availableParallelism(), loadavg_1m_before: loadBefore, loadavg_1m_after: loadavg()[0] },
    tfjs_wasm_1t: summary(tfjs1),
    tfjs_wasm_mt: summary(tfjsMt),
    ort_1t: { ...summary(ort[1]!), mha_tf_tensors_ms_median: ort[1]!.mhaTf.median },
    ort_2t: { ...summary(o2), mha_tf_tensors_ms_median: o2.mhaTf.median },
    ort_2t_no_spin: { ...summary(ort[3]!), mha_tf_tensors_ms_median: ort[3]!.mhaTf.median },
    ratios_best: {
      mha_ort2_vs_tfjs_mt: tfjsMt.mha.best / o2.mha.best,
      mha_ort1_vs_tfjs_1t: tfjs1.mha.best / ort[1]!.mha.best,
      mha_tfjs_mt_vs_1t: tfjs1.mha.best / tfjsMt.mha.best,
      mha_ort2_vs_ort1: ort[1]!.mha.best / o2.mha.best,
      matmul_ort2_vs_tfjs_mt: tfjsMt.matmul.best / o2.matmul.best,
    },
    ratios_median: {
      mha_ort2_vs_tfjs_mt: tfjsMt.mha.median / o2.mha.median,
      mha_ort1_vs_tfjs_1t: tfjs1.mha.median / ort[1]!.mha.median,
      mha_ort2_tf_tensor_overhead: o2.mhaTf.median / o2.mha.median,
    },
    ort_vs_tfjs_max_rel_err: o2.relErr,
    model_small: { config: 'SMALL_CONFIG', batch: 1, targets: 1, conditions: 2, ...workload('model') },
    decoder_paper: { ...DECODER_CONFIG, scales: DECODER_SIZES, mask: DECODER_MASK, batch: 1, conditions: 4, ...workload('decoder') },
  }),
);
tf.dispose([query, memory, keyPos, a, b, reference, mc.images, ...outputTensors(modelRef)]);
tf.dispose([...dc.features, dc.maskFeatures, dc.queryOffset, dc.conditions, dc.conditionMask, decoderRef.predLogits, decoderRef.predMasks, decoderRef.queries]);
mha.dispose();
mc.model.dispose();
dc.decoder.dispose();
