/**
 * `npm run bench:attention`: MultiHeadAttention forward and forward+backward on wasm at
 * B=2, Nq=200, Nk=1024, D=256, 8 heads, against a plain 2-D matmul of the same FLOPs and the
 * naive batched formulation on stock tfjs-backend-wasm kernels; then the folded layouts against
 * the block layouts at BSF's shapes (`foldedLayouts.ts`), all in one run.
 */
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, selectBackend, installWasmKernels, uninstallWasmKernels } from '@flowseg/core';
import { medianMs, printTable } from './benchUtil.js';
import { compareFoldedLayouts } from './foldedLayouts.js';

const B = 2, NQ = 200, NK = 1024, D = 256, H = 8;
// q/k/v/out projections + QKᵀ + PV, 2 FLOPs per multiply-add.
const FWD_FLOPS = 2 * B * D * (2 * NQ * D + 2 * NK * D + 2 * NQ * NK);
const FWDBWD_FLOPS = 3 * FWD_FLOPS; // backward of a matmul chain = 2× its forward

const selection = await selectBackend('wasm');
const mha = new MultiHeadAttention({ embedDim: D, numHeads: H });
const query = tf.randomNormal([B, NQ, D], 0, 1, 'float32', 1) as tf.Tensor3D;
const memory = tf.randomNormal([B, NK, D], 0, 1, 'float32', 2) as tf.Tensor3D;
const pos = tf.randomNormal([B, NK, D], 0, 0.1, 'float32', 3) as tf.Tensor3D;
const forward = () => mha.forward({ query, key: memory, value: memory, keyPos: pos }).output;
const weights = [...mha.namedWeights().values()].map((v) => v.read() as tf.Variable);
const forwardBackward = () =>
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(forward())) as tf.Scalar, weights as tf.Variable[]);
    return Object.values(grads);
  });

// The same FLOPs as the forward pass in one plain 2-D product (the backend's fast path).
const side = Math.round(Math.cbrt(FWD_FLOPS / 2));
const a = tf.randomNormal([side, side], 0, 1, 'float32', 4);
const b = tf.randomNormal([side, side], 0, 1, 'float32', 5);
const matmulMs = medianMs(() => tf.matMul(a, b), 7);
const matmulFlops = 2 * side ** 3;

const fwdMs = medianMs(forward, 7);
const fwdBwdMs = medianMs(forwardBackward, 5);

// Naive: the obvious batched formulation (4-D Q·Kᵀ with transposeB, 4-D P·V) on stock kernels.
const naive = () =>
  tf.tidy(() => {
    const w = mha.namedWeights();
    const proj = (x: tf.Tensor3D, name: string, n: number) =>
      tf.transpose(
        tf.reshape(tf.add(tf.matMul(tf.reshape(x, [B * n, D]), w.get(`${name}.kernel`)!.read()), w.get(`${name}.bias`)!.read()), [B, n, H, D / H]),
        [0, 2, 1, 3],
      );
    const q = proj(query, 'q_proj', NQ);
    const k = proj(tf.add(memory, pos) as tf.Tensor3D, 'k_proj', NK);
    const v = proj(memory, 'v_proj', NK);
    const p = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D / H)));
    const ctx = tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [B * NQ, D]);
    return tf.add(tf.matMul(ctx, w.get('out_proj.kernel')!.read()), w.get('out_proj.bias')!.read());
  });
uninstallWasmKernels();
const naiveMs = medianMs(naive, 3);
installWasmKernels();

const gf = (flops: number, ms: number) => flops / ms / 1e6;
const result = {
  backend: tf.getBackend(),
  device: selection.device ?? '',
  shape: { B, NQ, NK, D, heads: H },
  fwd_ms: fwdMs,
  fwdbwd_ms: fwdBwdMs,
  naive_fwd_ms: naiveMs,
  fwd_gflops: gf(FWD_FLOPS, fwdMs),
  fwdbwd_gflops: gf(FWDBWD_FLOPS, fwdBwdMs),
  matmul2d_gflops: gf(matmulFlops, matmulMs),
  naive_fwd_gflops: gf(FWD_FLOPS, naiveMs),
};
const ratio = {
  fwd_vs_matmul2d: result.fwd_gflops / result.matmul2d_gflops,
  fwdbwd_vs_matmul2d: result.fwdbwd_gflops / result.matmul2d_gflops,
  fwd_vs_naive: result.fwd_gflops / result.naive_fwd_gflops,
};
printTable([
  { path: `plain 2-D matmul ${side}³`, ms: matmulMs, GFLOPs: result.matmul2d_gflops, 'vs 2-D': 1 },
  { path: 'MHA forward', ms: fwdMs, GFLOPs: result.fwd_gflops, 'vs 2-D': ratio.fwd_vs_matmul2d },
  { path: 'MHA forward+backward', ms: fwdBwdMs, GFLOPs: result.fwdbwd_gflops, 'vs 2-D': ratio.fwdbwd_vs_matmul2d },
  { path: 'naive batched forward (stock wasm)', ms: naiveMs, GFLOPs: result.naive_fwd_gflops, 'vs 2-D': result.naive_fwd_gflops / result.matmul2d_gflops },
]);
const folded = compareFoldedLayouts();
console.log('\nBSF\'s attentions at the paper size (batch 1, D = 256, 8 heads): folded vs block layout, forward, medians of 15 alternating rounds');
printTable(
  folded.map((r) => ({
    shape: r.shape,
    'folded ms': r.foldedMs,
    'block ms': r.blockMs,
    'speed-up': r.blockMs / r.foldedMs,
    'MFLOP folded / block': `${(r.foldedFlops / 1e6).toFixed(1)} / ${(r.blockFlops / 1e6).toFixed(1)}`,
  })),
);
console.log(`targets: forward ≥ 0.6 × 2-D (${ratio.fwd_vs_matmul2d.toFixed(2)}), forward+backward ≥ 0.4 × 2-D (${ratio.fwdbwd_vs_matmul2d.toFixed(2)}), forward ≥ 5 × naive (${ratio.fwd_vs_naive.toFixed(1)})`);
console.log(JSON.stringify({ ...result, ...ratio, foldedLayouts: folded }));
