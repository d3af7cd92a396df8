/**
 * Phrase/SEG pooling on wasm: the adapter's pooling-matrix batched matmul against the
 * obvious per-phrase `gather` + `mean` loop, forward and forward+backward (gradient into the
 * hidden states), plus the whole adapter forward (pooling + LISA-width φ_llm) for context.
 * B=4 sequences of T=512 tokens, llmDim=4096, 4 phrases and 2 SEGs per sequence.
 *
 * Run: `npx tsx packages/llm-condition-adapter/bench/pooling.bench.ts`. Last line: JSON.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@flowseg/core';
import { LlmConditionAdapter, type PhraseSpan } from '@flowseg/llm-condition-adapter';

const B = 4, T = 512, D_LLM = 4096, D = 256, SPANS = 4, SEGS = 2;
const IDS = { phraseStart: 1, phraseEnd: 2, seg: 3 };

function medianMs(fn: () => tf.TensorContainer, reps: number): number {
  tf.dispose(fn());
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = fn();
    const first = Array.isArray(out) ? out[0] : out;
    if (first instanceof tf.Tensor) first.dataSync();
    times.push(performance.now() - t0);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

// Token ids: filler 10..99 with SPANS phrases of 4–10 tokens and SEGS <SEG>s in each row.
function row(b: number): number[] {
  const ids = Array.from({ length: T }, (_, t) => 10 + ((t * 7 + b * 13) % 90));
  let t = 5 + b;
  for (let s = 0; s < SPANS; s++) {
    const len = 4 + ((s + b) % 7);
    ids[t] = IDS.phraseStart;
    ids[t + len + 1] = IDS.phraseEnd;
    t += len + 2 + 20;
    if (s % 2 === 1) ids[t++] = IDS.seg;
  }
  return ids;
}
const tokenIds = Array.from({ length: B }, (_, b) => row(b));

const selection = await selectBackend('wasm');
const hidden = tf.randomNormal([B, T, D_LLM], 0, 1, 'float32', 1) as tf.Tensor3D;
const adapter = new LlmConditionAdapter({ llmDim: D_LLM, decoderDim: D, specialTokens: IDS, seed: 1 });
adapter.ensureBuilt();
const parsed = adapter.parse(tokenIds);
if (parsed.maxSpans !== SPANS || parsed.maxSeg !== SEGS) throw new Error('bench token layout is off');

const matmulPool = (h: tf.Tensor3D) => {
  const r = adapter.pool({ tokenIds, hiddenStates: h });
  tf.dispose([r.conditionMask, r.segMask, r.segConditionMask]);
  return [r.phraseStates, r.segStates] as const;
};
// The obvious alternative: one gather + mean per phrase, one gather per SEG, then stack.
const gatherPool = (h: tf.Tensor3D) =>
  tf.tidy(() => {
    const rows = (pick: (it: (typeof parsed.items)[number]) => number[][]) =>
      tf.stack(parsed.items.map((it, b) => {
        const hb = tf.squeeze(tf.slice(h, [b, 0, 0], [1, T, D_LLM]), [0]);
        return tf.stack(pick(it).map((pos) => tf.mean(tf.gather(hb, tf.tensor1d(pos, 'int32')), 0)));
      }));
    return [
      rows((it) => it.spans.map((s: PhraseSpan) => [...s.content])),
      rows((it) => it.segPositions.map((t) => [t])),
    ] as const;
  });
const loss = (pair: readonly [tf.Tensor, tf.Tensor]) => tf.add(tf.sum(tf.square(pair[0])), tf.sum(tf.square(pair[1]))) as tf.Scalar;
const backward = (pool: (h: tf.Tensor3D) => readonly [tf.Tensor, tf.Tensor]) => () =>
  tf.grads((h: tf.Tensor) => loss(pool(h as tf.Tensor3D)))([hidden]);

// Same numbers both ways before timing anything.
const [a, g] = [matmulPool(hidden), gatherPool(hidden)];
const maxDiff = Math.max(
  tf.max(tf.abs(tf.sub(a[0], g[0]))).dataSync()[0]!,
  tf.max(tf.abs(tf.sub(a[1], g[1]))).dataSync()[0]!,
);
tf.dispose([...a, ...g]);

const REPS = 7;
const ms = {
  matmul_fwd: medianMs(() => [...matmulPool(hidden)], REPS),
  gather_fwd: medianMs(() => [...gatherPool(hidden)], REPS),
  matmul_fwdbwd: medianMs(backward(matmulPool), REPS),
  gather_fwdbwd: medianMs(backward(gatherPool), REPS),
  adapter_fwd: medianMs(() => {
    const r = adapter.forward({ tokenIds, hiddenStates: hidden });
    return [r.conditions, r.conditionMask, r.segEmbeddings, r.segMask, r.segConditionMask];
  }, REPS),
};
const rows = [
  { path: 'pooling matrix · H (batched matMul), forward', ms: ms.matmul_fwd, 'gather / this': ms.gather_fwd / ms.matmul_fwd },
  { path: 'gather + mean loop, forward', ms: ms.gather_fwd, 'gather / this': 1 },
  { path: 'pooling matrix · H, forward+backward', ms: ms.matmul_fwdbwd, 'gather / this': ms.gather_fwdbwd / ms.matmul_fwdbwd },
  { path: 'gather + mean loop, forward+backward', ms: ms.gather_fwdbwd, 'gather / this': 1 },
  { path: `adapter forward (pooling + φ_llm ${D_LLM}→${D_LLM}→${D})`, ms: ms.adapter_fwd, 'gather / this': NaN },
];
console.log(`backend ${selection.backend}; B=${B} T=${T} llmDim=${D_LLM} phrases=${SPANS} SEGs=${SEGS}; max |matmul − gather| = ${maxDiff.toExponential(2)}`);
for (const r of rows) console.log(`${r.path.padEnd(58)} ${r.ms.toFixed(2).padStart(9)} ms   ${Number.isNaN(r['gather / this']) ? '' : `${r['gather / this'].toFixed(2)}×`}`);
console.log(JSON.stringify({
  bench: 'llm-condition-adapter/pooling',
  backend: selection.backend,
  shape: { B, T, llmDim: D_LLM, decoderDim: D, phrases: SPANS, segs: SEGS },
  ms,
  ratio: { gather_vs_matmul_fwd: ms.gather_fwd / ms.matmul_fwd, gather_vs_matmul_fwdbwd: ms.gather_fwdbwd / ms.matmul_fwdbwd },
  max_abs_diff: maxDiff,
}));
