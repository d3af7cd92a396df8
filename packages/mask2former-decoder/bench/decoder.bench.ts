/**
 * Mask2Former decoder forward latency at the FlowSeg paper's configuration (wasm).
 *
 *   npx tsx packages/mask2former-decoder/bench/decoder.bench.ts [--threads N] [--runs R]
 *
 * N = 200 queries, L = 9 layers, D = 256, 8 heads, FFN 2048, batch 1, feature scales 8², 16²,
 * 32² (strides 32/16/8 of a 256² image) and 64² mask features. Times inference
 * (`auxOutputs: false`: attention masks predicted at their scales) and the training-style pass
 * that also returns the L full-resolution auxiliary predictions, interleaved. Prints a table,
 * then as the last line one JSON object: params, fwd_ms and fwd_aux_ms (medians),
 * achieved_gflops (inference's analytic FLOPs / its median time), matmul2d_gflops (a plain 2-D
 * matmul measured in the same run, interleaved with the forward passes so all see the same
 * machine load) and their ratio. `--threads N` asks core's `selectBackend` for N wasm threads
 * (default: core's default).
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '@flowseg/core';
import { Mask2FormerDecoder } from '@flowseg/mask2former-decoder';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const threadsArg = process.argv.includes('--threads') ? arg('threads', 1) : undefined;
const runs = arg('runs', 5);
const selection = await selectBackend('wasm', threadsArg === undefined ? {} : { wasmThreads: threadsArg });

const config = { numQueries: 200, numLayers: 9, hiddenDim: 256, numHeads: 8, ffnDim: 2048, maskDim: 256, numClasses: 1 };
const sizes: Array<[number, number]> = [
  [8, 8],
  [16, 16],
  [32, 32],
];
const maskSize: [number, number] = [64, 64];

/**
 * Multiply-adds × 2 of every matmul in one forward pass (softmax, norms, resizes excluded);
 * `aux`: L + 1 full predictions, else L attention masks at their scales and one full prediction.
 */
function analyticFlops(aux: boolean): number {
  const { numQueries: n, numLayers, hiddenDim: d, ffnDim: f, maskDim: dm, numClasses: k } = config;
  let flops = 0;
  for (let l = 0; l < numLayers; l++) {
    const [h, w] = sizes[l % 3]!;
    const hw = h * w;
    flops += 2 * n * d * d * 2 + 2 * hw * d * d * 2; // cross-attn q, out; k, v projections
    flops += 2 * n * hw * d * 2; // scores and attention · values
    flops += 2 * n * d * d * 4 + 2 * n * n * d * 2; // self-attn projections, scores, · values
    flops += 2 * n * d * f * 2; // FFN
  }
  const maskHead = (pixels: number) => 2 * n * d * d * 2 + 2 * n * d * dm + 2 * n * dm * pixels;
  const fullHead = maskHead(maskSize[0] * maskSize[1]) + 2 * n * d * (k + 1);
  for (let l = 0; l < numLayers; l++) {
    const [h, w] = sizes[l % 3]!;
    flops += aux ? fullHead : maskHead(h * w);
  }
  return flops + fullHead;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const threads = getThreadsCount();
const decoder = new Mask2FormerDecoder({ ...config, seed: 0 });
decoder.ensureBuilt();
const features = sizes.map(([h, w], i) => tf.randomNormal([1, h, w, 256], 0, 1, 'float32', i + 1) as tf.Tensor4D);
const maskFeatures = tf.randomNormal([1, ...maskSize, 256], 0, 1, 'float32', 9) as tf.Tensor4D;

// Plain 2-D matmul in the same process: [2048, 256] × [256, 1024] (an FFN-shaped product).
const a = tf.randomNormal([2048, 256], 0, 1, 'float32', 21) as tf.Tensor2D;
const b = tf.randomNormal([256, 1024], 0, 1, 'float32', 22) as tf.Tensor2D;
const forwardOnce = (auxOutputs: boolean) => {
  const t0 = performance.now();
  const out = decoder.forward({ features, maskFeatures, auxOutputs });
  out.predMasks.dataSync(); // wait for the result
  const ms = performance.now() - t0;
  tf.dispose(out as unknown as tf.TensorContainer);
  return ms;
};
const matmulOnce = () => {
  const t0 = performance.now();
  const c = tf.matMul(a, b);
  c.dataSync();
  const ms = performance.now() - t0;
  c.dispose();
  return ms;
};
// Warm up, then interleave the two measurements so both see the same machine load.
for (let i = 0; i < 2; i++) {
  forwardOnce(false);
  forwardOnce(true);
  matmulOnce();
}
const forwardTimes: number[] = [];
const auxTimes: number[] = [];
const mmTimes: number[] = [];
for (let r = 0; r < runs; r++) {
  forwardTimes.push(forwardOnce(false));
  auxTimes.push(forwardOnce(true));
  for (let k = 0; k < 3; k++) mmTimes.push(matmulOnce());
}
const fwdMs = median(forwardTimes);
const auxMs = median(auxTimes);
const flops = analyticFlops(false);
const auxFlops = analyticFlops(true);
const mmMs = median(mmTimes);
const mmGflops = (2 * 2048 * 256 * 1024) / (mmMs * 1e6);
const achieved = flops / (fwdMs * 1e6);
const params = decoder.countParams();

const rows: Array<[string, string]> = [
  ['backend', `${selection.backend}, ${threads} thread(s) (${selection.reason})`],
  ['config', 'N=200, L=9, D=256, heads=8, FFN=2048, K=1, batch 1, scales 8²/16²/32², mask 64²'],
  ['parameters', params.toLocaleString('en-US')],
  ['forward, inference (median of ' + runs + ')', `${fwdMs.toFixed(1)} ms  [${forwardTimes.map((t) => t.toFixed(0)).join(', ')}]`],
  ['analytic FLOPs', `${(flops / 1e9).toFixed(3)} GFLOP`],
  ['achieved', `${achieved.toFixed(2)} GFLOP/s`],
  ['forward with aux outputs', `${auxMs.toFixed(1)} ms  [${auxTimes.map((t) => t.toFixed(0)).join(', ')}] = ${(auxMs / fwdMs).toFixed(2)}× inference`],
  ['analytic FLOPs with aux', `${(auxFlops / 1e9).toFixed(3)} GFLOP = ${(auxFlops / (auxMs * 1e6)).toFixed(2)} GFLOP/s`],
  ['2-D matmul 2048×256×1024', `${mmMs.toFixed(1)} ms = ${mmGflops.toFixed(2)} GFLOP/s`],
  ['decoder / matmul rate', `${(achieved / mmGflops).toFixed(3)}`],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
tf.dispose([a, b, features, maskFeatures]);
console.log(
  JSON.stringify({
    params,
    fwd_ms: Number(fwdMs.toFixed(2)),
    fwd_aux_ms: Number(auxMs.toFixed(2)),
    achieved_gflops: Number(achieved.toFixed(3)),
    matmul2d_gflops: Number(mmGflops.toFixed(3)),
    ratio_to_matmul: Number((achieved / mmGflops).toFixed(4)),
    analytic_gflop: Number((flops / 1e9).toFixed(4)),
    analytic_aux_gflop: Number((auxFlops / 1e9).toFixed(4)),
    backend: selection.backend,
    wasm_threads: threads,
    backend_reason: selection.reason,
    runs,
  }),
);
