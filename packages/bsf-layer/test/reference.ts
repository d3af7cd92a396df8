/**
 * Plain-JavaScript (float64) re-derivation of the BSF equations, written independently of
 * the implementation (no tf ops): per batch item, nested arrays, loops.
 */
import type * as tf from '@tensorflow/tfjs';

export type Mat = number[][];
export type Weights = Map<string, tf.LayerVariable>;

function read(weights: Weights, name: string): unknown {
  const v = weights.get(name);
  if (!v) throw new Error(`no weight ${name}; have ${[...weights.keys()].join(', ')}`);
  return v.read().arraySync();
}
/** A 2-D weight as rows. */
export const mat = (weights: Weights, name: string): Mat => read(weights, name) as Mat;
/** A 1-D weight. */
export const vec = (weights: Weights, name: string): number[] => read(weights, name) as number[];

export function linear(x: Mat, w: Mat, b: number[]): Mat {
  return x.map((row) => b.map((bias, o) => row.reduce((s, xi, i) => s + xi * w[i]![o]!, bias)));
}

export const add = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((x, j) => x + b[i]![j]!));
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function layerNorm(x: Mat, gamma: number[], beta: number[], eps = 1e-5): Mat {
  return x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
    return row.map((v, j) => ((v - mean) / Math.sqrt(variance + eps)) * gamma[j]! + beta[j]!);
  });
}

export interface MhaOptions {
  qPos?: Mat;
  kPos?: Mat;
  /** keyValid[j] false = padding. */
  keyValid?: boolean[];
  /** blocked[i][j] true = query i may not see key j. */
  blocked?: boolean[][];
}

/** softmax(q Wq (k Wk)ᵀ/√dh) v Wv per head, then Wo; a query that sees no key gets zero weights. */
export function mha(weights: Weights, prefix: string, heads: number, q: Mat, k: Mat, v: Mat, o: MhaOptions = {}): Mat {
  const p = (n: string) => mat(weights, `${prefix}${n}`);
  const pv = (n: string) => vec(weights, `${prefix}${n}`);
  const qp = linear(o.qPos ? add(q, o.qPos) : q, p('q_proj.kernel'), pv('q_proj.bias'));
  const kp = linear(o.kPos ? add(k, o.kPos) : k, p('k_proj.kernel'), pv('k_proj.bias'));
  const vp = linear(v, p('v_proj.kernel'), pv('v_proj.bias'));
  const d = qp[0]?.length ?? pv('q_proj.bias').length;
  const dh = d / heads;
  const out: Mat = q.map(() => new Array<number>(d).fill(0));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < q.length; i++) {
      const allowed = k.map((_, j) => (o.keyValid?.[j] ?? true) && !(o.blocked?.[i]?.[j] ?? false));
      const scores = k.map((_, j) => {
        let s = 0;
        for (let c = 0; c < dh; c++) s += qp[i]![h * dh + c]! * kp[j]![h * dh + c]!;
        return s / Math.sqrt(dh);
      });
      const live = scores.filter((_, j) => allowed[j]);
      if (live.length === 0) continue; // zero weights
      const max = Math.max(...live);
      const e = scores.map((s, j) => (allowed[j] ? Math.exp(s - max) : 0));
      const z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < dh; c++) {
        out[i]![h * dh + c] = e.reduce((s, ej, j) => s + (ej / z) * vp[j]![h * dh + c]!, 0);
      }
    }
  }
  return linear(out, p('out_proj.kernel'), pv('out_proj.bias'));
}

/** SR gate: g = σ([v ‖ s] W + b), fused = g v + (1−g) s. */
export function gate(weights: Weights, prefix: string, visual: Mat, semantic: Mat): { gate: Mat; fused: Mat } {
  const logits = linear(
    visual.map((r, i) => [...r, ...semantic[i]!]),
    mat(weights, `${prefix}kernel`),
    vec(weights, `${prefix}bias`),
  );
  const g = logits.map((r) => r.map(sigmoid));
  const fused = g.map((r, i) => r.map((gi, j) => gi * visual[i]![j]! + (1 - gi) * semantic[i]![j]!));
  return { gate: g, fused };
}

/** SR for one item: fused queries (Q_vis itself when no condition is real). */
export function semanticRefinement(
  weights: Weights,
  prefix: string,
  heads: number,
  visual: Mat,
  pos: Mat | undefined,
  conditions: Mat,
  valid: boolean[],
): { fused: Mat; semantic: Mat | null; gate: Mat | null } {
  if (!valid.some(Boolean)) return { fused: visual, semantic: null, gate: null };
  const semantic = mha(weights, `${prefix}multihead_attn.`, heads, visual, conditions, conditions, { qPos: pos, keyValid: valid });
  const g = gate(weights, `${prefix}gate.`, visual, semantic);
  return { fused: g.fused, semantic, gate: g.gate };
}

/** CR for one item: C + MHA(C, Q_s + pos, Q_s) on real rows, padded rows untouched. */
export function conditionRefinement(
  weights: Weights,
  prefix: string,
  heads: number,
  conditions: Mat,
  valid: boolean[],
  queries: Mat,
  pos: Mat | undefined,
): Mat {
  const upd = mha(weights, `${prefix}multihead_attn.`, heads, conditions, queries, queries, { kPos: pos });
  return conditions.map((row, t) => (valid[t] ? row.map((c, j) => c + upd[t]![j]!) : row));
}

export interface LayerItem {
  queries: Mat;
  queryPos: Mat;
  memory: Mat;
  memoryPos: Mat;
  blocked?: boolean[][];
  conditions?: Mat;
  valid?: boolean[];
}

/** The whole BSF layer for one item: cross → SR → self → FFN → CR. */
export function bsfLayer(
  weights: Weights,
  heads: number,
  item: LayerItem,
  opts: { sr: boolean; cr: boolean; crSource?: 'ffn' | 'self_attn' },
): { queries: Mat; conditions: Mat | undefined } {
  const norm = (prefix: string, x: Mat) =>
    layerNorm(x, vec(weights, `${prefix}norm.weight`), vec(weights, `${prefix}norm.bias`));
  const { queries: q, queryPos: pos, memory: m, memoryPos: mPos } = item;
  const visual = norm(
    'cross_attn.',
    add(q, mha(weights, 'cross_attn.multihead_attn.', heads, q, m, m, { qPos: pos, kPos: mPos, blocked: item.blocked })),
  );
  const hasC = item.conditions !== undefined && item.conditions.length > 0;
  const fused =
    opts.sr && hasC
      ? semanticRefinement(weights, 'semantic_attn.', heads, visual, pos, item.conditions!, item.valid!).fused
      : visual;
  const attended = norm('self_attn.', add(fused, mha(weights, 'self_attn.self_attn.', heads, fused, fused, fused, { qPos: pos, kPos: pos })));
  const hidden = linear(attended, mat(weights, 'ffn.ffn.linear1.kernel'), vec(weights, 'ffn.ffn.linear1.bias')).map(
    (r) => r.map((x) => Math.max(0, x)),
  );
  const out = norm(
    'ffn.',
    add(attended, linear(hidden, mat(weights, 'ffn.ffn.linear2.kernel'), vec(weights, 'ffn.ffn.linear2.bias'))),
  );
  const conditions =
    opts.cr && hasC
      ? conditionRefinement(weights, 'condition_refinement.', heads, item.conditions!, item.valid!, opts.crSource === 'self_attn' ? attended : out, pos)
      : item.conditions;
  return { queries: out, conditions };
}
