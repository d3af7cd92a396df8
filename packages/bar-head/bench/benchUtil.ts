import * as tf from '@tensorflow/tfjs';

/** Median wall-clock and process-CPU milliseconds of one call. */
export interface Timing {
  /** Median wall time (ms). */
  ms: number;
  /** Median CPU time of this process (user + system over all threads, ms). */
  cpuMs: number;
}

/** Median wall and CPU time of `fn` over `reps` runs after `warmup` runs; outputs are disposed. */
export function measure(fn: () => tf.TensorContainer, reps = 5, warmup = 1): Timing {
  for (let i = 0; i < warmup; i++) tf.dispose(fn());
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = fn();
    // Reading one element of each output forces completion on async backends (wasm and cpu
    // are synchronous) without timing a full copy to JS.
    for (const t of tensorsIn(out)) if (t.size > 0) tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1).dataSync());
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    tf.dispose(out);
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { ms: median(times), cpuMs: median(cpu) };
}

/**
 * {@link measure} for several functions at once, their runs interleaved (A, B, C, A, B, C, …) so
 * that each sees the same machine state (load, thread pool, JIT): fair same-run ratios.
 */
export function measureInterleaved<K extends string>(
  fns: Record<K, () => tf.TensorContainer>,
  reps = 5,
  warmup = 1,
): Record<K, Timing> {
  const keys = Object.keys(fns) as K[];
  for (let i = 0; i < warmup; i++) for (const k of keys) tf.dispose(fns[k]());
  const wall = new Map<K, number[]>(keys.map((k) => [k, []]));
  const cpu = new Map<K, number[]>(keys.map((k) => [k, []]));
  for (let i = 0; i < reps; i++) {
    for (const k of keys) {
      const t = measure(fns[k], 1, 0);
      wall.get(k)!.push(t.ms);
      cpu.get(k)!.push(t.cpuMs);
    }
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return Object.fromEntries(keys.map((k) => [k, { ms: median(wall.get(k)!), cpuMs: median(cpu.get(k)!) }])) as Record<
    K,
    Timing
  >;
}

function tensorsIn(out: tf.TensorContainer): tf.Tensor[] {
  if (out instanceof tf.Tensor) return [out];
  if (Array.isArray(out)) return out.flatMap((o) => tensorsIn(o as tf.TensorContainer));
  if (out && typeof out === 'object') return Object.values(out).flatMap((o) => tensorsIn(o as tf.TensorContainer));
  return [];
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
