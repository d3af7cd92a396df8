/**
 * `npx tsx packages/onnx/bench/runtimes.bench.ts`: the same MultiHeadAttention forward
 * (B=2, Nq=200, Nk=1024, D=256, 8 heads, keyPos added) and a 512² matmul on
 *   - TF.js wasm, 1 thread   (measured in a child process: wasm's thread count is fixed when
 *                             wasm first starts in a process, so one process cannot measure both),
 *   - TF.js wasm, threaded   (selectBackend('wasm') default: one thread per logical core),
 *   - ONNX Runtime (onnxruntime-node), intraOpNumThreads 1 and 2, on the model exportOnnx wrote
 *     from the very same layer, fed typed arrays (runtime only) and, at 2 threads, tf.Tensors
 *     through OnnxSession.run (download, run, upload: what a TF.js caller pays).
 * ORT's 512² matmul (B as an initializer, A fed) is the machine reference. All rows come from
 * one invocation; the last line is one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MultiHeadAttention, selectBackend } from '@flowseg/core';
import { OnnxGraphBuilder, OnnxSession, exportOnnx } from '@flowseg/onnx';
import { medianMs, printTable } from './benchUtil.js';

const B = 2, NQ = 200, NK = 1024, D = 256, H = 8, N = 512;
// q/k/v/out projections + QKᵀ + PV, 2 FLOPs per multiply-add (same count as core's attention bench).
const MHA_FLOPS = 2 * B * D * (2 * NQ * D + 2 * NK * D + 2 * NQ * NK);
const MATMUL_FLOPS = 2 * N ** 3;
const gflops = (flops: number, ms: number) => flops / ms / 1e6;

interface Timing {
  mha_ms: number;
  matmul_ms: number;
  device: string;
}

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
  const mhaMs = await medianMs(() => read(mha.forward({ query, key: memory, value: memory, keyPos }).output), 7);
  const matmulMs = await medianMs(() => read(tf.matMul(a, b)), 15);
  tf.dispose([query, memory, keyPos, a, b]);
  mha.dispose();
  return { mha_ms: mhaMs, matmul_ms: matmulMs, device };
}

if (process.argv.includes('--tfjs-child')) {
  // Child: TF.js wasm with the thread count given on the command line; prints one JSON line.
  const threads = Number(process.argv[process.argv.indexOf('--tfjs-child') + 1]);
  const sel = await selectBackend('wasm', { wasmThreads: threads });
  console.log(JSON.stringify(await timeTfjs(sel.device ?? 'wasm')));
  process.exit(0);
}

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
const reference = mha.forward({ query, key: memory, value: memory, keyPos }).output;

const ort: Record<number, Timing & { mha_tf_ms: number; rel_err: number }> = {};
for (const threads of [1, 2]) {
  const s = await OnnxSession.create(mhaBytes, { intraOpNumThreads: threads });
  const m = await OnnxSession.create(matmulBytes, { intraOpNumThreads: threads });
  const mhaMs = await medianMs(async () => void (await s.runTyped(mhaFeeds)), 15);
  const matmulMs = await medianMs(async () => void (await m.runTyped({ a: typed(a) })), 25);
  const viaTf = async () => {
    const { output } = await s.run({ query, key: memory, value: memory, keyPos });
    await output!.data();
    output!.dispose();
  };
  const mhaTfMs = await medianMs(viaTf, 15);
  const { output } = await s.run({ query, key: memory, value: memory, keyPos });
  const relErr = tf.tidy(() => tf.max(tf.abs(tf.sub(output!, reference))).dataSync()[0]! / tf.max(tf.abs(reference)).dataSync()[0]!);
  output!.dispose();
  ort[threads] = { mha_ms: mhaMs, matmul_ms: matmulMs, mha_tf_ms: mhaTfMs, rel_err: relErr, device: `onnxruntime-node ×${threads}` };
  await s.release();
  await m.release();
}

const rows = [
  { engine: 'TF.js wasm', threads: tfjs1.device, ...tfjs1 },
  { engine: 'TF.js wasm', threads: tfjsMt.device, ...tfjsMt },
  { engine: 'ORT node', threads: '1', ...ort[1]! },
  { engine: 'ORT node', threads: '2', ...ort[2]! },
].map((r) => ({
  engine: r.engine,
  threads: r.threads,
  'MHA ms': r.mha_ms,
  'MHA GFLOP/s': gflops(MHA_FLOPS, r.mha_ms),
  'MHA vs tfjs×1': tfjs1.mha_ms / r.mha_ms,
  'matmul512 ms': r.matmul_ms,
  'matmul GFLOP/s': gflops(MATMUL_FLOPS, r.matmul_ms),
  'MHA % of own matmul rate': (100 * gflops(MHA_FLOPS, r.mha_ms)) / gflops(MATMUL_FLOPS, r.matmul_ms),
}));
printTable(rows);
console.log(
  `\nORT MHA through OnnxSession.run with tf.Tensors (2 threads): ${ort[2]!.mha_tf_ms.toFixed(2)} ms ` +
    `(${ort[2]!.mha_ms.toFixed(2)} ms with typed arrays); ORT vs TF.js output max rel. error ${ort[2]!.rel_err.toExponential(2)}`,
);
const summary = (t: Timing) => ({
  mha_ms: t.mha_ms,
  mha_gflops: gflops(MHA_FLOPS, t.mha_ms),
  matmul512_ms: t.matmul_ms,
  matmul512_gflops: gflops(MATMUL_FLOPS, t.matmul_ms),
  device: t.device,
});
console.log(
  JSON.stringify({
    shape: { B, NQ, NK, D, heads: H, matmul: N },
    // Other processes on the machine skew every row; the 1-minute load average says how busy it was.
    machine: { cores: availableParallelism(), loadavg_1m: loadavg()[0] },
    tfjs_wasm_1t: summary(tfjs1),
    tfjs_wasm_mt: summary(tfjsMt),
    ort_1t: { ...summary(ort[1]!), mha_tf_tensors_ms: ort[1]!.mha_tf_ms },
    ort_2t: { ...summary(ort[2]!), mha_tf_tensors_ms: ort[2]!.mha_tf_ms },
    ratios: {
      mha_ort2_vs_tfjs_mt: tfjsMt.mha_ms / ort[2]!.mha_ms,
      mha_ort1_vs_tfjs_1t: tfjs1.mha_ms / ort[1]!.mha_ms,
      mha_tfjs_mt_vs_1t: tfjs1.mha_ms / tfjsMt.mha_ms,
      matmul_ort2_vs_tfjs_mt: tfjsMt.matmul_ms / ort[2]!.matmul_ms,
      mha_ort2_tf_tensor_overhead: ort[2]!.mha_tf_ms / ort[2]!.mha_ms,
    },
    ort_vs_tfjs_max_rel_err: ort[2]!.rel_err,
  }),
);
tf.dispose([query, memory, keyPos, a, b, reference]);
mha.dispose();
