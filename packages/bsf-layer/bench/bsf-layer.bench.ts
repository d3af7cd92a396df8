/**
 * One BSF layer (SR + CR) vs one baseline layer (both switches off = the standard Mask2Former
 * layer) at Mask2Former's sizes: N = 200 queries, D = 256, 8 heads, FFN 2048, 8 conditions,
 * memory 32×32, batch 1, wasm. Both layers share the standard weights; forward passes are
 * interleaved (base, bsf, bsf, base, …) so load on the machine hits both alike. Latencies are
 * medians (minimums shown too); the latency ratio is the median of the per-round ratios
 * bsf/base of adjacent runs, which cancels slow drift in machine load.
 *
 * Run: npx tsx packages/bsf-layer/bench/bsf-layer.bench.ts [rounds=30] [wasmThreads=all cores]
 * Last line: one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { BSFDecoderLayer, bsfLayerFlops, type BSFDecoderLayerInputs } from '@flowseg/bsf-layer';

const N = 200;
const D = 256;
const HEADS = 8;
const FFN = 2048;
const T = 8;
const SIDE = 32;
const P = SIDE * SIDE;
const B = 1;
const ROUNDS = Number(process.argv[2] ?? 30);
const WARMUP = 3;

const THREADS = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const selection = await selectBackend('wasm', { wasmThreads: THREADS });

const base = new BSFDecoderLayer({ hiddenDim: D, numHeads: HEADS, ffnDim: FFN, semanticRefinement: false, conditionRefinement: false });
const bsf = new BSFDecoderLayer({ hiddenDim: D, numHeads: HEADS, ffnDim: FFN });
base.ensureBuilt();
bsf.ensureBuilt();
const bsfWeights = bsf.namedWeights();
for (const [name, v] of base.namedWeights()) bsfWeights.get(name)!.write(v.read());

const inputs: BSFDecoderLayerInputs = {
  queries: tf.randomNormal([B, N, D], 0, 1, 'float32', 1) as tf.Tensor3D,
  queryPos: tf.randomNormal([B, N, D], 0, 1, 'float32', 2) as tf.Tensor3D,
  memory: tf.randomNormal([B, P, D], 0, 1, 'float32', 3) as tf.Tensor3D,
  memoryPos: tf.randomNormal([B, P, D], 0, 1, 'float32', 4) as tf.Tensor3D,
  // Masked attention as in Mask2Former: about half the pixels blocked per query.
  attentionMask: tf.tidy(() => tf.greater(tf.randomUniform([B, N, P], 0, 1, 'float32', 5), 0.5)) as tf.Tensor3D,
  conditions: {
    conditions: tf.randomNormal([B, T, D], 0, 1, 'float32', 6) as tf.Tensor3D,
    conditionMask: tf.ones([B, T]) as tf.Tensor2D,
  },
};

function timeForward(layer: BSFDecoderLayer): number {
  const t0 = performance.now();
  const out = layer.forward(inputs);
  out.queries.dataSync(); // wasm runs synchronously; the read keeps other backends honest too
  if (out.conditions && out.conditions !== inputs.conditions) out.conditions.conditions.dataSync();
  const ms = performance.now() - t0;
  tf.dispose([out.queries, out.conditions !== inputs.conditions ? out.conditions!.conditions : []]);
  return ms;
}

for (let i = 0; i < WARMUP; i++) {
  timeForward(base);
  timeForward(bsf);
}
const times = { base: [] as number[], bsf: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  // ABBA order cancels drift within each pair of rounds.
  if (r % 2 === 0) {
    times.base.push(timeForward(base));
    times.bsf.push(timeForward(bsf));
  } else {
    times.bsf.push(timeForward(bsf));
    times.base.push(timeForward(base));
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const sizes = { batch: B, queries: N, pixels: P, conditions: T, hiddenDim: D, ffnDim: FFN };
const flopsBase = bsfLayerFlops(sizes, { semanticRefinement: false, conditionRefinement: false });
const flopsBsf = bsfLayerFlops(sizes);
const fwdBase = median(times.base);
const fwdBsf = median(times.bsf);
const minBase = Math.min(...times.base);
const minBsf = Math.min(...times.bsf);
const latencyRatio = median(times.bsf.map((t, i) => t / times.base[i]!));
const latencyOverhead = latencyRatio - 1;
const flopOverhead = flopsBsf.total / flopsBase.total - 1;
const paramsBase = base.countParams();
const paramsBsf = bsf.countParams();

const row = (label: string, a: string, b: string, ratio: string) =>
  console.log(`${label.padEnd(22)}${a.padStart(16)}${b.padStart(16)}${ratio.padStart(10)}`);
console.log(`backend: ${selection.backend} (${selection.device ?? selection.reason}); ${ROUNDS} interleaved rounds, medians`);
console.log(`sizes: N=${N} D=${D} heads=${HEADS} ffn=${FFN} conditions=${T} memory=${SIDE}x${SIDE} batch=${B}`);
row('', 'baseline', 'BSF (SR+CR)', 'ratio');
row('parameters', String(paramsBase), String(paramsBsf), (paramsBsf / paramsBase).toFixed(3));
row('FLOPs (analytic)', (flopsBase.total / 1e6).toFixed(1) + ' M', (flopsBsf.total / 1e6).toFixed(1) + ' M', (flopsBsf.total / flopsBase.total).toFixed(3));
row('forward ms (median)', fwdBase.toFixed(2), fwdBsf.toFixed(2), (fwdBsf / fwdBase).toFixed(3));
row('forward ms (min)', minBase.toFixed(2), minBsf.toFixed(2), (minBsf / minBase).toFixed(3));
row('paired ratio (median)', '', '', latencyRatio.toFixed(3));
console.log(
  `FLOPs of BSF's parts: SR ${(flopsBsf.semanticRefinement / 1e6).toFixed(1)} M, CR ${(flopsBsf.conditionRefinement / 1e6).toFixed(1)} M`,
);
console.log(
  `overhead: latency +${(100 * latencyOverhead).toFixed(1)} %, FLOPs +${(100 * flopOverhead).toFixed(1)} %; ` +
    `latency/FLOP overhead ${(latencyOverhead / flopOverhead).toFixed(2)} (target ≤ 1.25)`,
);
console.log(
  JSON.stringify({
    backend: selection.backend,
    device: selection.device ?? null,
    rounds: ROUNDS,
    params_base: paramsBase,
    params_bsf: paramsBsf,
    fwd_ms_base: Number(fwdBase.toFixed(3)),
    fwd_ms_bsf: Number(fwdBsf.toFixed(3)),
    fwd_ms_min_base: Number(minBase.toFixed(3)),
    fwd_ms_min_bsf: Number(minBsf.toFixed(3)),
    latency_ratio: Number(latencyRatio.toFixed(4)),
    flops_base: flopsBase.total,
    flops_bsf: flopsBsf.total,
    latency_overhead: Number(latencyOverhead.toFixed(4)),
    flop_overhead: Number(flopOverhead.toFixed(4)),
    overhead_ratio: Number((latencyOverhead / flopOverhead).toFixed(3)),
    target_met: latencyOverhead <= 1.25 * flopOverhead,
  }),
);
