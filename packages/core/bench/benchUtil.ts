import * as tf from '@tensorflow/tfjs';

/** Median wall time in ms of `fn` over `reps` runs after `warmup` runs; outputs are disposed. */
export function medianMs(fn: () => tf.TensorContainer, reps = 5, warmup = 1): number {
  for (let i = 0; i < warmup; i++) tf.dispose(fn());
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = fn();
    // wasm/cpu run synchronously; reading one value forces completion on async backends too.
    const first = firstTensor(out);
    if (first) first.dataSync();
    times.push(performance.now() - t0);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function firstTensor(out: tf.TensorContainer): tf.Tensor | null {
  if (out instanceof tf.Tensor) return out;
  if (Array.isArray(out)) {
    for (const o of out) {
      const t = firstTensor(o as tf.TensorContainer);
      if (t) return t;
    }
    return null;
  }
  if (out && typeof out === 'object') {
    for (const o of Object.values(out)) {
      const t = firstTensor(o as tf.TensorContainer);
      if (t) return t;
    }
  }
  return null;
}

/**
 * The machine's reference rate: a plain 2-D float32 matmul `[m, k] × [k, n]` in GFLOP/s
 * (median of `reps`).
 */
export function matmul2dGflops(m: number, k: number, n: number, reps = 5): number {
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  const ms = medianMs(() => tf.matMul(a, b), reps);
  tf.dispose([a, b]);
  return (2 * m * k * n) / ms / 1e6;
}

/** Print rows as an aligned text table. */
export function printTable(rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  console.log(cols.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(cols.map((c, i) => fmt(r[c] ?? '').padEnd(widths[i]!)).join('  '));
}
