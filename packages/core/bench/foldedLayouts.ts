/**
 * The folded attention layouts against the block layouts they replace, at BSF's shapes (paper
 * size: 200 queries, 8 conditions, D = 256, 8 heads, batch 1): the semantic attention (queries
 * read the conditions) and the condition refinement (conditions read the queries). Forward
 * passes, timed in alternating rounds so machine load hits both alike.
 */
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, attentionLayout, attentionLayoutFlops } from '@flowseg/core';

const N = 200, T = 8, D = 256, H = 8;

/** One row of the comparison. */
export interface FoldedLayoutRow {
  /** Which attention (`SR` or `CR` shape). */
  readonly shape: string;
  /** The folded layout and the block layout it replaces. */
  readonly folded: string;
  readonly block: string;
  /** Median forward ms of each. */
  readonly foldedMs: number;
  readonly blockMs: number;
  /** FLOPs of each layout's products. */
  readonly foldedFlops: number;
  readonly blockFlops: number;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Time both layouts at both BSF shapes: `rounds` alternating rounds of `calls` forward passes each. */
export function compareFoldedLayouts(rounds = 15, calls = 5): FoldedLayoutRow[] {
  const many = tf.randomNormal([1, N, D], 0, 1, 'float32', 11) as tf.Tensor3D;
  const few = tf.randomNormal([1, T, D], 0, 1, 'float32', 12) as tf.Tensor3D;
  const pos = tf.randomNormal([1, N, D], 0, 0.1, 'float32', 13) as tf.Tensor3D;
  const shapes = [
    { shape: `SR: ${N} queries over ${T} conditions`, nq: N, nk: T, inputs: { query: many, key: few, value: few, queryPos: pos } },
    { shape: `CR: ${T} conditions over ${N} queries`, nq: T, nk: N, inputs: { query: few, key: many, value: many, keyPos: pos } },
  ];
  const rows = shapes.map(({ shape, nq, nk, inputs }) => {
    const folded = new MultiHeadAttention({ embedDim: D, numHeads: H, seed: 1 });
    const block = new MultiHeadAttention({ embedDim: D, numHeads: H, seed: 1, foldProjections: false });
    /** Mean ms of one forward over `calls` calls. */
    const time = (m: MultiHeadAttention) => {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) {
        const out = m.forward(inputs).output;
        out.dataSync();
        out.dispose();
      }
      return (performance.now() - t0) / calls;
    };
    const times = { folded: [] as number[], block: [] as number[] };
    // Round −1 warms both up; the order alternates so drifting load hits both alike.
    for (let r = -1; r < rounds; r++) {
      const order = r % 2 === 0 ? (['folded', 'block'] as const) : (['block', 'folded'] as const);
      for (const name of order) {
        const ms = time(name === 'folded' ? folded : block);
        if (r >= 0) times[name].push(ms);
      }
    }
    for (const m of [folded, block]) for (const v of m.weights) v.dispose();
    const foldedLayout = attentionLayout(nq, nk, H, D);
    const blockLayout = attentionLayout(nq, nk, H, D, { fold: false });
    return {
      shape,
      folded: foldedLayout,
      block: blockLayout,
      foldedMs: medianOf(times.folded),
      blockMs: medianOf(times.block),
      foldedFlops: attentionLayoutFlops(foldedLayout, nq, nk, H, D),
      blockFlops: attentionLayoutFlops(blockLayout, nq, nk, H, D),
    };
  });
  tf.dispose([many, few, pos]);
  return rows;
}
