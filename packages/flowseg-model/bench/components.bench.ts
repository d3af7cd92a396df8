/**
 * `npx tsx packages/flowseg-model/bench/components.bench.ts [--threads N]`: forward and
 * forward+backward times of the built-in FlowSeg components at their default sizes on wasm
 * (B=8, 64×64 images, T=32 text tokens), next to a plain 2-D matmul measured in the same run.
 * `--threads` sets wasm's thread count (default: core's choice).
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { ConvSegmentationEncoder, PatchVisionEncoder, TinyCausalLM } from '../src/components.js';

const B = 8, T = 32, V = 200;

/** Median wall time and median process CPU time (user + system) in ms of `fn`, outputs disposed. */
function measure(fn: () => tf.TensorContainer, reps = 9, warmup = 2): { wallMs: number; cpuMs: number } {
  for (let i = 0; i < warmup; i++) tf.dispose(fn());
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = fn();
    for (const t of collect(out)) t.dataSync();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
    tf.dispose(out);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

function collect(v: tf.TensorContainer, acc: tf.Tensor[] = []): tf.Tensor[] {
  if (v instanceof tf.Tensor) acc.push(v);
  else if (Array.isArray(v)) v.forEach((x) => collect(x as tf.TensorContainer, acc));
  else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    Object.values(v).forEach((x) => collect(x as tf.TensorContainer, acc));
  }
  return acc;
}

function gradsOf(layer: { trainableWeights: tf.LayerVariable[] }, loss: () => tf.Scalar): () => tf.Tensor[] {
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  return () => tf.tidy(() => Object.values(tf.variableGrads(loss, vars).grads));
}

const threadsArg = process.argv.indexOf('--threads');
const wasmThreads = threadsArg >= 0 ? Number(process.argv[threadsArg + 1]) : undefined;
const selection = await selectBackend('wasm', wasmThreads === undefined ? {} : { wasmThreads });
const rows: Array<Record<string, string | number>> = [];

const a = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
const bm = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
const matmul = measure(() => tf.matMul(a, bm), 15);
const matmulMs = matmul.wallMs;
const gflops = (2 * 512 ** 3) / matmulMs / 1e6;
rows.push({ what: 'reference: 2-D matmul 512³', shape: '-', wallMs: matmulMs, cpuMs: matmul.cpuMs, params: 0 });

const images = tf.randomUniform([B, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
const ids = tf.randomUniform([B, T], 0, V, 'int32', 4) as tf.Tensor2D;
const lossMask = tf.ones([B, T]) as tf.Tensor2D;

const lm = new TinyCausalLM({ vocabSize: V, seed: 1 });
const vis = new PatchVisionEncoder({ seed: 2 });
const seg = new ConvSegmentationEncoder({ seed: 3 });
const imageTokens = vis.forward(images).tokens;
lm.ensureBuilt();
vis.ensureBuilt();
seg.ensureBuilt();

const results: Record<string, number> = {};
const cpuResults: Record<string, number> = {};
function add(key: string, what: string, shape: string, fn: () => tf.TensorContainer, params: number): void {
  const { wallMs, cpuMs } = measure(fn);
  results[key] = wallMs;
  cpuResults[key] = cpuMs;
  rows.push({ what, shape, wallMs, cpuMs, params });
}

const lmParams = lm.countParams();
add('lmForwardMs', 'TinyCausalLM forward (logits)', `B=${B} T=${T}`, () => lm.logits({ tokenIds: ids }), lmParams);
add(
  'lmForwardBackwardMs',
  'TinyCausalLM fwd+bwd (nextTokenLoss)',
  `B=${B} T=${T}`,
  gradsOf(lm, () => lm.nextTokenLoss({ tokenIds: ids, lossMask })),
  lmParams,
);
add(
  'lmWithImageForwardBackwardMs',
  'TinyCausalLM fwd+bwd, 16 image tokens',
  `B=${B} T=16+${T}`,
  gradsOf(lm, () => lm.nextTokenLoss({ imageTokens, tokenIds: ids, lossMask })),
  lmParams,
);
add('visionForwardMs', 'PatchVisionEncoder forward', `B=${B} 64×64`, () => vis.forward(images).tokens, vis.countParams());
add(
  'visionForwardBackwardMs',
  'PatchVisionEncoder fwd+bwd',
  `B=${B} 64×64`,
  gradsOf(vis, () => tf.mean(tf.square(vis.forward(images).tokens))),
  vis.countParams(),
);
add('segForwardMs', 'ConvSegmentationEncoder forward', `B=${B} 64×64`, () => {
  const out = seg.forward(images);
  return [...out.features, out.pixel];
}, seg.countParams());
add(
  'segForwardBackwardMs',
  'ConvSegmentationEncoder fwd+bwd',
  `B=${B} 64×64`,
  gradsOf(seg, () => {
    const out = seg.forward(images);
    return tf.addN([...out.features, out.pixel].map((t) => tf.mean(tf.square(t)))) as tf.Scalar;
  }),
  seg.countParams(),
);
const prompt = tf.slice(ids, [0, 0], [1, 8]) as tf.Tensor2D;
const oneImage = tf.slice(imageTokens, [0, 0, 0], [1, 16, 128]) as tf.Tensor3D;
let generated = 0;
add(
  'generate16Ms',
  'TinyCausalLM.generate ≤16 tokens',
  'B=1 16+8 → +16',
  () => {
    generated = lm.generate(oneImage, prompt, { maxNewTokens: 16, eosId: 0 })[0]!.length;
    return [];
  },
  lmParams,
);

console.log(`backend: ${selection.backend} (${selection.device ?? ''}); 2-D matmul reference ${gflops.toFixed(1)} GFLOP/s; generate produced ${generated} tokens`);
console.log('wallMs: elapsed time; cpuMs: CPU time of this process (with one wasm thread, the time on a free core).');
console.table(rows.map((r) => ({ ...r, wallMs: Number(r.wallMs).toFixed(2), cpuMs: Number(r.cpuMs).toFixed(2) })));
const overMatmul = Object.fromEntries(
  Object.entries(cpuResults).map(([k, v]) => [k.replace(/Ms$/, 'OverMatmulCpu'), v / matmul.cpuMs]),
);
console.log(
  JSON.stringify({
    backend: selection.backend,
    device: selection.device ?? null,
    matmulMs,
    matmulCpuMs: matmul.cpuMs,
    gflops,
    generatedTokens: generated,
    wallMs: results,
    cpuMs: cpuResults,
    overMatmulCpu: overMatmul,
  }),
);
