/**
 * Independent re-derivations used as test oracles: plain JS arrays and loops, no TF.js ops,
 * so a bug in a TF.js kernel or in FlowSeg's layer code cannot hide in both sides.
 */
import * as tf from '@tensorflow/tfjs';
import type { FlowSegLayer } from '@flowseg/core';

export type Vec = number[];
export type Mat = number[][];

/** Weights of a layer as nested JS arrays, by dotted name. */
export function weightsOf(layer: FlowSegLayer): Map<string, number[] | number[][]> {
  const out = new Map<string, number[] | number[][]>();
  for (const [name, v] of layer.namedWeights()) out.set(name, v.read().arraySync() as number[] | number[][]);
  return out;
}

export function matVec(x: Vec, w: Mat, b?: Vec): Vec {
  const out = new Array<number>(w[0]!.length).fill(0);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < out.length; j++) out[j]! += x[i]! * w[i]![j]!;
  return b ? out.map((v, j) => v + b[j]!) : out;
}

export function addVec(a: Vec, b: Vec): Vec {
  return a.map((v, i) => v + b[i]!);
}

export function layerNormVec(x: Vec, gamma: Vec, beta: Vec, eps = 1e-5): Vec {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * gamma[i]! + beta[i]!);
}

/** erf by Abramowitz & Stegun 7.1.26 refined with a Taylor series for small |x| (|err| < 1e-7). */
export function erf(x: number): number {
  if (Math.abs(x) < 2) {
    // Maclaurin series: erf x = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let sum = 0;
    let term = x;
    for (let n = 0; n < 60; n++) {
      sum += term / (2 * n + 1);
      term *= (-x * x) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return Math.sign(x) * y;
}

export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** `linear2(act(linear1(x)))` with weights under `prefix` (e.g. `ffn.`). */
export function feedForwardVec(
  x: Vec,
  w: Map<string, number[] | number[][]>,
  prefix = '',
  activation: 'relu' | 'gelu' = 'relu',
): Vec {
  const h = matVec(x, w.get(`${prefix}linear1.kernel`) as Mat, w.get(`${prefix}linear1.bias`) as Vec);
  const a = h.map((v) => (activation === 'relu' ? Math.max(0, v) : gelu(v)));
  return matVec(a, w.get(`${prefix}linear2.kernel`) as Mat, w.get(`${prefix}linear2.bias`) as Vec);
}

export interface ReferenceAttentionOptions {
  queryPos?: number[][][];
  keyPos?: number[][][];
  /** `true` = key j blocked for query i of batch b, head h. */
  blocked?: (b: number, h: number, i: number, j: number) => boolean;
  /** Added to the scaled score. */
  additive?: (b: number, h: number, i: number, j: number) => number;
}

/**
 * Multi-head attention per head: `softmax(q_h k_hᵀ / √d + mask) v_h`, heads concatenated,
 * output projection. Weights under `prefix` (`q_proj.kernel`, ...). A row with every key
 * blocked gets zero weights (FlowSeg's documented convention).
 */
export function referenceAttention(
  w: Map<string, number[] | number[][]>,
  numHeads: number,
  query: number[][][],
  key: number[][][],
  value: number[][][],
  options: ReferenceAttentionOptions = {},
  prefix = '',
): { output: number[][][]; weights: number[][][][] } {
  const get = (n: string) => w.get(prefix + n)!;
  const outputs: number[][][] = [];
  const allWeights: number[][][][] = [];
  for (let b = 0; b < query.length; b++) {
    const qIn = query[b]!.map((row, i) => (options.queryPos ? addVec(row, options.queryPos[b]![i]!) : row));
    const kIn = key[b]!.map((row, j) => (options.keyPos ? addVec(row, options.keyPos[b]![j]!) : row));
    const q = qIn.map((r) => matVec(r, get('q_proj.kernel') as Mat, get('q_proj.bias') as Vec));
    const k = kIn.map((r) => matVec(r, get('k_proj.kernel') as Mat, get('k_proj.bias') as Vec));
    const v = value[b]!.map((r) => matVec(r, get('v_proj.kernel') as Mat, get('v_proj.bias') as Vec));
    const d = q[0]!.length;
    const dh = d / numHeads;
    const concat: Mat = q.map(() => new Array<number>(d).fill(0));
    const headWeights: number[][][] = [];
    for (let h = 0; h < numHeads; h++) {
      const rows: Mat = [];
      for (let i = 0; i < q.length; i++) {
        const scores: number[] = [];
        const open: boolean[] = [];
        for (let j = 0; j < k.length; j++) {
          let s = 0;
          for (let c = h * dh; c < (h + 1) * dh; c++) s += q[i]![c]! * k[j]![c]!;
          s /= Math.sqrt(dh);
          if (options.additive) s += options.additive(b, h, i, j);
          scores.push(s);
          open.push(!(options.blocked?.(b, h, i, j) ?? false));
        }
        const max = Math.max(...scores.filter((_, j) => open[j]));
        const exps = scores.map((s, j) => (open[j] ? Math.exp(s - max) : 0));
        const total = exps.reduce((a, c) => a + c, 0);
        const p = total > 0 ? exps.map((e) => e / total) : exps;
        rows.push(p);
        for (let j = 0; j < k.length; j++) {
          for (let c = h * dh; c < (h + 1) * dh; c++) concat[i]![c]! += p[j]! * v[j]![c]!;
        }
      }
      headWeights.push(rows);
    }
    outputs.push(concat.map((r) => matVec(r, get('out_proj.kernel') as Mat, get('out_proj.bias') as Vec)));
    allWeights.push(headWeights);
  }
  return { output: outputs, weights: allWeights };
}

/** Largest absolute difference between two nested number arrays of the same shape. */
export function maxAbsDiff(a: unknown, b: unknown): number {
  const fa = (Array.isArray(a) ? (a as unknown[]).flat(Infinity) : [a]) as number[];
  const fb = (Array.isArray(b) ? (b as unknown[]).flat(Infinity) : [b]) as number[];
  if (fa.length !== fb.length) throw new Error(`size mismatch: ${fa.length} vs ${fb.length}`);
  let m = 0;
  for (let i = 0; i < fa.length; i++) {
    const d = Math.abs(fa[i]! - fb[i]!);
    if (Number.isNaN(d)) return Infinity;
    m = Math.max(m, d);
  }
  return m;
}

/** Deterministic pseudo-random numbers (mulberry32) for test inputs. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A nested array of the given shape filled with values in [-1, 1) from `seed`. */
export function randomArray(shape: number[], seed: number): number[] | number[][] | number[][][] | number[][][][] {
  const rand = seededRandom(seed);
  const build = (dims: number[]): unknown => (dims.length === 0 ? rand() * 2 - 1 : Array.from({ length: dims[0]! }, () => build(dims.slice(1))));
  return build(shape) as number[][][];
}

/** A float32 tensor with seeded values in [-1, 1). */
export function randomTensor<R extends tf.Rank>(shape: number[], seed: number): tf.Tensor<R> {
  const rand = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const t: tf.Tensor = tf.tensor(Float32Array.from({ length: size }, () => rand() * 2 - 1), shape);
  return t as tf.Tensor<R>;
}

/** Give every weight of `layer` seeded random values (so gains/biases are not 1/0). */
export function randomizeWeights(layer: FlowSegLayer, seed: number): void {
  let s = seed;
  for (const [, v] of layer.namedWeights()) {
    const t = randomTensor(v.shape as number[], s++);
    v.write(t);
    t.dispose();
  }
}

/**
 * Free a layer's variables. Not `layer.dispose()`: tf.layers refuses to dispose a layer
 * that was only used eagerly ("has not been used yet"), which is how these tests use them.
 */
export function releaseWeights(layer: FlowSegLayer): void {
  for (const v of layer.weights) v.dispose();
}
