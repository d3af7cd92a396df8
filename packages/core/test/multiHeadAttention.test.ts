import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, ShapeError, DTypeError, ValueError, selectBackend, attentionLayout, attentionLayoutFlops } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { maxAbsDiff, randomArray, randomizeWeights, referenceAttention, releaseWeights, weightsOf } from './support/reference.js';

const B = 2;
const NQ = 3;
const NK = 5;
const D = 8;
const H = 2;

function inputs(seed: number, dims: { key?: number; value?: number } = {}) {
  const q = randomArray([B, NQ, D], seed) as number[][][];
  const k = randomArray([B, NK, dims.key ?? D], seed + 1) as number[][][];
  const v = randomArray([B, NK, dims.value ?? D], seed + 2) as number[][][];
  return { q, k, v, query: tf.tensor3d(q), key: tf.tensor3d(k), value: tf.tensor3d(v) };
}

function makeMha(seed: number, config: Partial<ConstructorParameters<typeof MultiHeadAttention>[0]> = {}) {
  const mha = new MultiHeadAttention({ embedDim: D, numHeads: H, ...config });
  randomizeWeights(mha, seed);
  return mha;
}

describe.each(['cpu', 'wasm'] as const)('MultiHeadAttention on %s', (backend) => {
  beforeAll(async () => {
    expect((await selectBackend(backend)).backend).toBe(backend);
  });

  it('equals a per-head softmax(QKᵀ/√d)V re-derivation', () => {
    const mha = makeMha(10);
    const x = inputs(1);
    const { output, weights } = mha.forward({ query: x.query, key: x.key, value: x.value, returnWeights: true });
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v);
    expect(output.shape).toEqual([B, NQ, D]);
    expect(weights!.shape).toEqual([B, H, NQ, NK]);
    expect(maxAbsDiff(output.arraySync(), ref.output)).toBeLessThan(1e-5);
    expect(maxAbsDiff(weights!.arraySync(), ref.weights)).toBeLessThan(1e-5);
    tf.dispose([output, weights!, x.query, x.key, x.value]);
    releaseWeights(mha);
  });

  it('supports keyDim/valueDim different from embedDim', () => {
    const mha = makeMha(20, { keyDim: 6, valueDim: 4 });
    const x = inputs(2, { key: 6, value: 4 });
    const { output } = mha.forward({ query: x.query, key: x.key, value: x.value });
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v);
    expect(maxAbsDiff(output.arraySync(), ref.output)).toBeLessThan(1e-5);
    tf.dispose([output, x.query, x.key, x.value]);
    releaseWeights(mha);
  });

  it('adds queryPos to q and keyPos to k, never to v', () => {
    const mha = makeMha(30);
    const x = inputs(3);
    const qp = randomArray([B, NQ, D], 7) as number[][][];
    const kp = randomArray([B, NK, D], 8) as number[][][];
    const { output } = mha.forward({
      query: x.query,
      key: x.key,
      value: x.value,
      queryPos: tf.tensor3d(qp),
      keyPos: tf.tensor3d(kp),
    });
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v, { queryPos: qp, keyPos: kp });
    expect(maxAbsDiff(output.arraySync(), ref.output)).toBeLessThan(1e-5);
    // Adding keyPos to v as well would give a different answer: the check above can tell.
    const wrong = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v.map((r, b) => r.map((row, j) => row.map((c, ch) => c + kp[b]![j]![ch]!))), {
      queryPos: qp,
      keyPos: kp,
    });
    expect(maxAbsDiff(output.arraySync(), wrong.output)).toBeGreaterThan(1e-3);
    releaseWeights(mha);
  });

  it('bool attention mask: blocked keys get exactly 0, an all-blocked row gives zero weights and finite output', () => {
    const mha = makeMha(40);
    const x = inputs(4);
    // Block key j for query i when (i + j + b) % 3 === 0; block every key of query 2 in batch 1.
    const blocked = (b: number, _h: number, i: number, j: number) => (b === 1 && i === 2) || (i + j + b) % 3 === 0;
    const maskData = Array.from({ length: B }, (_, b) => [Array.from({ length: NQ }, (_, i) => Array.from({ length: NK }, (_, j) => blocked(b, 0, i, j)))]);
    const mask = tf.tensor4d(maskData.flat(3) as unknown as boolean[], [B, 1, NQ, NK], 'bool');
    const { output, weights } = mha.forward({ query: x.query, key: x.key, value: x.value, attentionMask: mask, returnWeights: true });
    const w = weights!.arraySync();
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < NQ; i++)
          for (let j = 0; j < NK; j++) if (blocked(b, h, i, j)) expect(w[b]![h]![i]![j]).toBe(0);
    expect(w[1]![0]![2]!.every((p) => p === 0)).toBe(true);
    expect(w[1]![1]![2]!.every((p) => p === 0)).toBe(true);
    const out = output.arraySync();
    expect(out.flat(2).every(Number.isFinite)).toBe(true);
    // Nothing attended: the output is the out-projection bias.
    const bias = weightsOf(mha).get('out_proj.bias') as number[];
    expect(maxAbsDiff(out[1]![2]!, bias)).toBeLessThan(1e-6);
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v, { blocked });
    expect(maxAbsDiff(out, ref.output)).toBeLessThan(1e-5);
    expect(maxAbsDiff(w, ref.weights)).toBeLessThan(1e-5);
    // Without returned weights the blocked row is zeroed after V (a cheaper path): same output.
    const alone = mha.forward({ query: x.query, key: x.key, value: x.value, attentionMask: mask }).output.arraySync();
    expect(maxAbsDiff(alone[1]![2]!, bias)).toBeLessThan(1e-6);
    expect(maxAbsDiff(alone, ref.output)).toBeLessThan(1e-5);
    releaseWeights(mha);
  });

  it('per-head bool mask [batch, heads, queries, keys] and a broadcast [1, 1, queries, keys] mask', () => {
    const mha = makeMha(50);
    const x = inputs(5);
    const perHead = (b: number, h: number, i: number, j: number) => (b + 2 * h + i * j) % 4 === 1;
    const data: boolean[] = [];
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < NQ; i++) for (let j = 0; j < NK; j++) data.push(perHead(b, h, i, j));
    const r1 = mha.forward({ query: x.query, key: x.key, value: x.value, attentionMask: tf.tensor4d(data, [B, H, NQ, NK], 'bool') });
    expect(maxAbsDiff(r1.output.arraySync(), referenceAttention(weightsOf(mha), H, x.q, x.k, x.v, { blocked: perHead }).output)).toBeLessThan(1e-5);

    const shared = (_b: number, _h: number, i: number, j: number) => j > i + 1;
    const sdata: boolean[] = [];
    for (let i = 0; i < NQ; i++) for (let j = 0; j < NK; j++) sdata.push(shared(0, 0, i, j));
    const r2 = mha.forward({ query: x.query, key: x.key, value: x.value, attentionMask: tf.tensor4d(sdata, [1, 1, NQ, NK], 'bool') });
    expect(maxAbsDiff(r2.output.arraySync(), referenceAttention(weightsOf(mha), H, x.q, x.k, x.v, { blocked: shared }).output)).toBeLessThan(1e-5);
    releaseWeights(mha);
  });

  it('key padding mask: padded keys get exactly 0 weight, combined with an attention mask', () => {
    const mha = makeMha(60);
    const x = inputs(6);
    const pad = [
      [false, false, false, true, true],
      [false, true, false, false, false],
    ];
    const attn = (_b: number, _h: number, i: number, j: number) => i === 0 && j === 0;
    const adata: boolean[] = [];
    for (let i = 0; i < NQ; i++) for (let j = 0; j < NK; j++) adata.push(attn(0, 0, i, j));
    const { output, weights } = mha.forward({
      query: x.query,
      key: x.key,
      value: x.value,
      keyPaddingMask: tf.tensor2d(pad, [B, NK], 'bool'),
      attentionMask: tf.tensor4d(adata, [1, 1, NQ, NK], 'bool'),
      returnWeights: true,
    });
    const blocked = (b: number, h: number, i: number, j: number) => pad[b]![j]! || attn(b, h, i, j);
    const w = weights!.arraySync();
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < NQ; i++) for (let j = 0; j < NK; j++) if (blocked(b, h, i, j)) expect(w[b]![h]![i]![j]).toBe(0);
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v, { blocked });
    expect(maxAbsDiff(output.arraySync(), ref.output)).toBeLessThan(1e-5);
    expect(maxAbsDiff(w, ref.weights)).toBeLessThan(1e-5);
    releaseWeights(mha);
  });

  it('additive float32 mask is added to the scaled scores', () => {
    const mha = makeMha(70);
    const x = inputs(7);
    const add = (b: number, h: number, i: number, j: number) => -((b + h + 2 * i + 3 * j) % 5) * 0.7;
    const data: number[] = [];
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < NQ; i++) for (let j = 0; j < NK; j++) data.push(add(b, h, i, j));
    const { output, weights } = mha.forward({
      query: x.query,
      key: x.key,
      value: x.value,
      attentionMask: tf.tensor4d(data, [B, H, NQ, NK]),
      returnWeights: true,
    });
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v, { additive: add });
    expect(maxAbsDiff(output.arraySync(), ref.output)).toBeLessThan(1e-5);
    expect(maxAbsDiff(weights!.arraySync(), ref.weights)).toBeLessThan(1e-5);
    releaseWeights(mha);
  });
});

describe.each(['cpu', 'wasm'] as const)('MultiHeadAttention layouts on %s', (backend) => {
  beforeAll(async () => {
    expect((await selectBackend(backend)).backend).toBe(backend);
  });

  // D = 8, H = 2: few keys while 2·Nk ≤ 8, few queries while 2·Nq ≤ 8, per head otherwise;
  // folded where that does fewer FLOPs (roughly: the other side has more than 2·n rows).
  const cases = [
    { layout: 'fewKeys', nq: 6, nk: 3 },
    { layout: 'fewQueries', nq: 3, nk: 6 },
    { layout: 'perHead', nq: 5, nk: 6 },
    { layout: 'foldedKeys', nq: 9, nk: 2 },
    { layout: 'foldedQueries', nq: 2, nk: 9 },
  ] as const;

  it('picks the block layouts only while heads·n fits the width, folded ones only where they save work', () => {
    for (const c of cases) expect(attentionLayout(c.nq, c.nk, H, D), `${c.nq}×${c.nk}`).toBe(c.layout);
    expect(attentionLayout(200, 8, 8, 256)).toBe('foldedKeys'); // BSF's semantic attention
    expect(attentionLayout(8, 200, 8, 256)).toBe('foldedQueries'); // its condition refinement
    expect(attentionLayout(8, 200, 8, 256, { fold: false })).toBe('fewQueries'); // e.g. attention dropout in training
    expect(attentionLayout(16, 8, 4, 64)).toBe('fewKeys'); // the small preset's SR: 4·8 key rows > 16 queries
    expect(attentionLayout(200, 200, 8, 256)).toBe('perHead'); // Mask2Former's self-attention
  });

  it('counts each layout\'s FLOPs: the textbook count per head, block zeros, folded rows', () => {
    // Hand counts for Nq = 9, Nk = 2, D = 8, H = 2 (a multiply–add = 2).
    const [nq, nk, d, h] = [9, 2, 8, 2];
    const projections = 2 * (2 * nq * d * d + 2 * nk * d * d); // q, out over Nq rows; k, v over Nk rows
    expect(attentionLayoutFlops('perHead', nq, nk, h, d)).toBe(projections + 2 * 2 * nq * nk * d);
    expect(attentionLayoutFlops('fewKeys', nq, nk, h, d)).toBe(projections + 2 * 2 * nq * h * nk * d);
    // k, v projections; k̃ and ṽ over h·Nk rows; the q-bias column; scores and sum over h·Nk columns.
    expect(attentionLayoutFlops('foldedKeys', nq, nk, h, d)).toBe(2 * (2 * nk * d * d + 2 * h * nk * d * d + h * nk * d + 2 * nq * h * nk * d));
    // q, out projections over Nk = 9 query rows... swapped roles: Nq = 2 queries over 9 keys, Dk = 6, Dv = 4.
    expect(attentionLayoutFlops('foldedQueries', 2, 9, h, d, { keyDim: 6, valueDim: 4 })).toBe(
      2 * (2 * 2 * d * d + h * 2 * d * 6 + 9 * 6 * h * 2 + h * 2 * 9 * 4 + h * 2 * 4 * d),
    );
    // BSF at the paper's size: folding does 2.1× fewer FLOPs than the block layouts on both sides.
    const ratio = (a: 'fewKeys' | 'fewQueries', f: 'foldedKeys' | 'foldedQueries', q: number, k: number) =>
      attentionLayoutFlops(a, q, k, 8, 256) / attentionLayoutFlops(f, q, k, 8, 256);
    expect(ratio('fewKeys', 'foldedKeys', 200, 8)).toBeGreaterThan(2);
    expect(ratio('fewQueries', 'foldedQueries', 8, 200)).toBeGreaterThan(2);
  });

  it.each(cases)('$layout: equals the per-head re-derivation, with key padding, a fully padded item and returned weights', ({ nq, nk }) => {
    const mha = makeMha(120);
    const q = randomArray([B, nq, D], 121) as number[][][];
    const k = randomArray([B, nk, D], 122) as number[][][];
    const v = randomArray([B, nk, D], 123) as number[][][];
    const pad = [Array.from({ length: nk }, (_, j) => j % 3 === 1), Array.from({ length: nk }, () => true)];
    const blocked = (b: number, _h: number, _i: number, j: number) => pad[b]![j]!;
    const args = { query: tf.tensor3d(q), key: tf.tensor3d(k), value: tf.tensor3d(v), keyPaddingMask: tf.tensor2d(pad, [B, nk], 'bool') };
    const ref = referenceAttention(weightsOf(mha), H, q, k, v, { blocked });
    const bias = weightsOf(mha).get('out_proj.bias') as number[];
    const withWeights = expectNoLeaks(() => mha.forward({ ...args, returnWeights: true }), { warmup: true });
    const alone = expectNoLeaks(() => mha.forward(args).output);
    const w = withWeights.weights!.arraySync();
    expect(withWeights.weights!.shape).toEqual([B, H, nq, nk]);
    expect(maxAbsDiff(w, ref.weights)).toBeLessThan(1e-5);
    for (let h = 0; h < H; h++) for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) if (pad[0]![j]) expect(w[0]![h]![i]![j]).toBe(0);
    expect(w[1]!.flat(2).every((p) => p === 0)).toBe(true);
    for (const out of [withWeights.output.arraySync(), alone.arraySync()]) {
      expect(maxAbsDiff(out, ref.output)).toBeLessThan(1e-5);
      // The fully padded item attends to nothing: every row is the out-projection bias.
      for (const row of out[1]!) expect(maxAbsDiff(row, bias)).toBeLessThan(1e-6);
    }
    tf.dispose([withWeights.output, withWeights.weights!, alone, ...Object.values(args)]);
    releaseWeights(mha);
  });

  it.each(cases)('$layout: gradients to inputs and every parameter equal the per-head path', ({ layout, nq, nk }) => {
    const mha = makeMha(130);
    const query = tf.tensor3d(randomArray([B, nq, D], 131) as number[][][]);
    const key = tf.tensor3d(randomArray([B, nk, D], 132) as number[][][]);
    const value = tf.tensor3d(randomArray([B, nk, D], 133) as number[][][]);
    const probe = tf.tensor3d(randomArray([B, nq, D], 134) as number[][][]);
    const pad = tf.tensor2d([Array.from({ length: nk }, (_, j) => j === 0), Array.from({ length: nk }, () => false)], [B, nk], 'bool');
    // An all-false attention mask changes nothing but forces the per-head layout.
    const open = tf.zeros([1, 1, nq, nk], 'bool') as tf.Tensor4D;
    const params = [...mha.namedWeights().values()].map((p) => p.read() as tf.Variable);
    const gradsOf = (attentionMask: tf.Tensor4D | null) =>
      tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
        tf.sum(tf.mul(mha.forward({ query: qq as tf.Tensor3D, key: kk as tf.Tensor3D, value: vv as tf.Tensor3D, keyPaddingMask: pad, attentionMask }).output, probe)),
      )([query, key, value]);
    const paramGrads = (attentionMask: tf.Tensor4D | null) =>
      tf.variableGrads(
        () => tf.sum(tf.mul(mha.forward({ query, key, value, keyPaddingMask: pad, attentionMask }).output, probe)) as tf.Scalar,
        params,
      ).grads;
    const fast = gradsOf(null);
    const slow = gradsOf(open);
    for (let i = 0; i < 3; i++) {
      expect(tf.norm(fast[i]!).dataSync()[0]).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(fast[i]!.arraySync() as number[][][], slow[i]!.arraySync() as number[][][])).toBeLessThan(1e-5);
    }
    const pf = paramGrads(null);
    const ps = paramGrads(open);
    for (const [name, w] of mha.namedWeights()) {
      const varName = (w.read() as tf.Variable).name;
      const slowGrad = ps[varName]!.arraySync() as number[][];
      if (layout === 'foldedQueries' && name === 'k_proj.bias') {
        // Folded queries drop the key bias (softmax cancels it): no gradient, where the per-head path's is 0.
        expect(pf[varName], name).toBeUndefined();
        expect(Math.max(...(slowGrad as unknown as number[]).map(Math.abs)), name).toBeLessThan(1e-5);
      } else {
        expect(maxAbsDiff(pf[varName]!.arraySync() as number[][], slowGrad), name).toBeLessThan(1e-5);
      }
    }
    tf.dispose([...fast, ...slow, ...Object.values(pf), ...Object.values(ps), query, key, value, probe, pad, open]);
    releaseWeights(mha);
  });

  it('foldedKeys with one item and no padding (bias in the product): output, input and parameter gradients equal the per-head path', () => {
    const [nq, nk] = [9, 2];
    expect(attentionLayout(nq, nk, H, D)).toBe('foldedKeys');
    const mha = makeMha(140);
    const query = tf.tensor3d(randomArray([1, nq, D], 141) as number[][][]);
    const key = tf.tensor3d(randomArray([1, nk, D], 142) as number[][][]);
    const value = tf.tensor3d(randomArray([1, nk, D], 143) as number[][][]);
    const probe = tf.tensor3d(randomArray([1, nq, D], 144) as number[][][]);
    const ref = referenceAttention(weightsOf(mha), H, query.arraySync(), key.arraySync(), value.arraySync());
    const out = expectNoLeaks(() => mha.forward({ query, key, value }).output, { warmup: true });
    expect(maxAbsDiff(out.arraySync(), ref.output)).toBeLessThan(1e-5);
    const open = tf.zeros([1, 1, nq, nk], 'bool') as tf.Tensor4D; // forces the per-head layout
    const params = [...mha.namedWeights().values()].map((p) => p.read() as tf.Variable);
    const loss = (attentionMask: tf.Tensor4D | null) => () =>
      tf.sum(tf.mul(mha.forward({ query, key, value, attentionMask }).output, probe)) as tf.Scalar;
    const [fast, slow] = [tf.variableGrads(loss(null), params).grads, tf.variableGrads(loss(open), params).grads];
    for (const [name, w] of mha.namedWeights()) {
      const varName = (w.read() as tf.Variable).name;
      expect(maxAbsDiff(fast[varName]!.arraySync(), slow[varName]!.arraySync()), name).toBeLessThan(1e-5);
    }
    expect(tf.norm(fast[(mha.namedWeights().get('out_proj.bias')!.read() as tf.Variable).name]!).dataSync()[0]).toBeGreaterThan(1e-3);
    const inputs = (attentionMask: tf.Tensor4D | null) =>
      tf.grads((qq: tf.Tensor) => tf.sum(tf.mul(mha.forward({ query: qq as tf.Tensor3D, key, value, attentionMask }).output, probe)))([query]);
    expect(maxAbsDiff(inputs(null)[0]!.arraySync(), inputs(open)[0]!.arraySync())).toBeLessThan(1e-5);
    tf.dispose([out, query, key, value, probe, open, ...Object.values(fast), ...Object.values(slow)]);
    releaseWeights(mha);
  });

  it.each([
    { nq: 9, nk: 2, layout: 'foldedKeys' },
    { nq: 2, nk: 12, layout: 'foldedQueries' },
  ] as const)('$layout with keyDim 6 / valueDim 4 and positions equals the re-derivation', ({ nq, nk, layout }) => {
    expect(attentionLayout(nq, nk, H, D, { keyDim: 6, valueDim: 4 })).toBe(layout);
    const mha = makeMha(150, { keyDim: 6, valueDim: 4 });
    const q = randomArray([B, nq, D], 151) as number[][][];
    const k = randomArray([B, nk, 6], 152) as number[][][];
    const v = randomArray([B, nk, 4], 153) as number[][][];
    const qp = randomArray([B, nq, D], 154) as number[][][];
    const kp = randomArray([B, nk, 6], 155) as number[][][];
    const add = (a: number[][][], b: number[][][]) => a.map((m, i) => m.map((r, j) => r.map((x, c) => x + b[i]![j]![c]!)));
    const ref = referenceAttention(weightsOf(mha), H, add(q, qp), add(k, kp), v);
    const args = [q, k, v, qp, kp].map((a) => tf.tensor3d(a)) as tf.Tensor3D[];
    const out = expectNoLeaks(
      () => mha.forward({ query: args[0]!, key: args[1]!, value: args[2]!, queryPos: args[3]!, keyPos: args[4]!, returnWeights: true }),
      { warmup: true },
    );
    expect(maxAbsDiff(out.output.arraySync(), ref.output)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.weights!.arraySync(), ref.weights)).toBeLessThan(1e-5);
    tf.dispose([out.output, out.weights!, ...args]);
    releaseWeights(mha);
  });

  it('foldProjections: false keeps the block layouts (same result); the flag round-trips through getConfig and is validated', async () => {
    const folded = makeMha(160);
    const plain = makeMha(160, { foldProjections: false });
    const q = tf.tensor3d(randomArray([B, 9, D], 161) as number[][][]);
    const k = tf.tensor3d(randomArray([B, 2, D], 162) as number[][][]);
    const a = folded.forward({ query: q, key: k, value: k }).output;
    const b = plain.forward({ query: q, key: k, value: k }).output;
    expect(maxAbsDiff(a.arraySync(), b.arraySync())).toBeLessThan(1e-5);
    // Folded: no q projection of the 9 query rows; block: one [18, 8] × [8, 8] product for them.
    const products = async (m: MultiHeadAttention) =>
      (await tf.profile(() => m.forward({ query: q, key: k, value: k }).output)).kernels.filter((x) => x.name.includes('MatMul')).map((x) => x.inputShapes[0]!.join('×'));
    const projectsQueries = (shapes: string[]) => shapes.some((x) => x.endsWith(`${B * 9}×${D}`));
    expect(projectsQueries(await products(plain))).toBe(true);
    expect(projectsQueries(await products(folded))).toBe(false);
    expect(plain.getConfig()['foldProjections']).toBe(false);
    expect(folded.getConfig()['foldProjections']).toBeUndefined();
    const copy = MultiHeadAttention.fromConfig(MultiHeadAttention, plain.getConfig()) as MultiHeadAttention;
    expect(copy.foldProjections).toBe(false);
    expect(() => new MultiHeadAttention({ embedDim: D, numHeads: H, foldProjections: 1 as unknown as boolean })).toThrow(ValueError);
    tf.dispose([a, b, q, k]);
    releaseWeights(folded);
    releaseWeights(plain);
  });

  it('applies attention dropout only in training, in the block layouts too', () => {
    const mha = makeMha(140, { dropout: 0.5 });
    for (const { nq, nk } of cases.filter((c) => c.layout !== 'perHead')) {
      const q = randomArray([B, nq, D], 141) as number[][][];
      const k = randomArray([B, nk, D], 142) as number[][][];
      const args = { query: tf.tensor3d(q), key: tf.tensor3d(k), value: tf.tensor3d(k) };
      const ref = referenceAttention(weightsOf(mha), H, q, k, k).output;
      expect(maxAbsDiff(mha.forward(args).output.arraySync(), ref)).toBeLessThan(1e-5);
      const trained = mha.forward({ ...args, training: true }).output.arraySync();
      expect(trained.flat(2).every(Number.isFinite)).toBe(true);
      expect(maxAbsDiff(trained, ref)).toBeGreaterThan(1e-3);
    }
    releaseWeights(mha);
  });
});

describe('MultiHeadAttention (wasm)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('applies attention dropout only in training', () => {
    const mha = makeMha(80, { dropout: 0.5 });
    const x = inputs(8);
    const ref = referenceAttention(weightsOf(mha), H, x.q, x.k, x.v);
    const evalOut = mha.forward({ query: x.query, key: x.key, value: x.value });
    const evalOut2 = mha.forward({ query: x.query, key: x.key, value: x.value, training: false });
    expect(maxAbsDiff(evalOut.output.arraySync(), ref.output)).toBeLessThan(1e-5);
    expect(maxAbsDiff(evalOut2.output.arraySync(), ref.output)).toBeLessThan(1e-5);
    const trainOut = mha.forward({ query: x.query, key: x.key, value: x.value, training: true });
    const t = trainOut.output.arraySync();
    expect(t.flat(2).every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(t, ref.output)).toBeGreaterThan(1e-3);
    releaseWeights(mha);
  });

  it('sends gradients to every projection kernel and bias (zero only where softmax cancels it)', () => {
    const mha = makeMha(90);
    const x = inputs(9);
    const probe = tf.tensor3d(randomArray([B, NQ, D], 99) as number[][][]);
    const named = mha.namedWeights();
    expect([...named.keys()].sort()).toEqual(
      ['k_proj.bias', 'k_proj.kernel', 'out_proj.bias', 'out_proj.kernel', 'q_proj.bias', 'q_proj.kernel', 'v_proj.bias', 'v_proj.kernel'],
    );
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(mha.forward({ query: x.query, key: x.key, value: x.value }).output, probe)) as tf.Scalar,
      [...named.values()].map((v) => v.read() as tf.Variable),
    );
    for (const [name, v] of named) {
      const g = grads[(v.read() as tf.Variable).name];
      expect(g, name).toBeDefined();
      expect(g!.shape, name).toEqual(v.shape);
      const norm = tf.norm(g!).dataSync()[0]!;
      // k_proj.bias adds the same amount to every score of a query row, which softmax
      // cancels: its gradient is zero in exact arithmetic. Every other parameter matters.
      if (name === 'k_proj.bias') expect(norm, name).toBeLessThan(1e-5);
      else expect(norm, name).toBeGreaterThan(1e-3);
    }
    tf.dispose([value, ...Object.values(grads)]);
    releaseWeights(mha);
  });

  it('throws ShapeError naming the argument and its expected axes', () => {
    const mha = makeMha(100);
    const q = tf.zeros([B, NQ, D]) as tf.Tensor3D;
    const k = tf.zeros([B, NK, D]) as tf.Tensor3D;
    const expectShapeError = (fn: () => unknown, argument: string, fragments: string[]) => {
      let caught: unknown;
      try {
        fn();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ShapeError);
      const err = caught as ShapeError;
      expect(err.argument).toBe(argument);
      expect(err.message.startsWith(`${argument}:`)).toBe(true);
      for (const f of fragments) expect(err.message).toContain(f);
    };
    // Wrong rank.
    expectShapeError(() => mha.forward({ query: tf.zeros([NQ, D]) as unknown as tf.Tensor3D, key: k, value: k }), 'query', [
      '[batch, queries, channels=8]',
      'rank 2',
    ]);
    // Batch mismatch between arguments.
    expectShapeError(() => mha.forward({ query: q, key: tf.zeros([B + 1, NK, D]) as tf.Tensor3D, value: k }), 'key', ['batch=2', 'batch: 3 ≠ 2']);
    // Channel mismatch against the config.
    expectShapeError(() => mha.forward({ query: tf.zeros([B, NQ, D + 1]) as tf.Tensor3D, key: k, value: k }), 'query', ['channels=8', 'channels: 9 ≠ 8']);
    expectShapeError(() => mha.forward({ query: q, key: k, value: tf.zeros([B, NK, 3]) as tf.Tensor3D }), 'value', ['valueChannels=8']);
    // keys of value must match keys of key.
    expectShapeError(() => mha.forward({ query: q, key: k, value: tf.zeros([B, NK + 1, D]) as tf.Tensor3D }), 'value', ['keys: 6 ≠ 5']);
    expectShapeError(() => mha.forward({ query: q, key: k, value: k, queryPos: tf.zeros([B, NQ + 1, D]) as tf.Tensor3D }), 'queryPos', ['queries']);
    expectShapeError(() => mha.forward({ query: q, key: k, value: k, keyPos: tf.zeros([B, NK, 2]) as tf.Tensor3D }), 'keyPos', ['keyChannels=8']);
    expectShapeError(
      () => mha.forward({ query: q, key: k, value: k, keyPaddingMask: tf.zeros([B, NK + 2], 'bool') as tf.Tensor2D }),
      'keyPaddingMask',
      ['[batch=2, keys=5]'],
    );
    // dtypes and mask shapes.
    expect(() => mha.forward({ query: tf.zeros([B, NQ, D], 'int32') as tf.Tensor3D, key: k, value: k })).toThrow(DTypeError);
    expect(() => mha.forward({ query: q, key: k, value: k, keyPaddingMask: tf.zeros([B, NK]) as tf.Tensor2D })).toThrow(DTypeError);
    expect(() => mha.forward({ query: q, key: k, value: k, attentionMask: tf.zeros([B, 3, NQ, NK], 'bool') as tf.Tensor4D })).toThrow(ValueError);
    expect(() => mha.forward({ query: q, key: k, value: k, attentionMask: tf.zeros([B, 1, NQ, NK + 1], 'bool') as tf.Tensor4D })).toThrow(
      /attentionMask: expected bool or float32/,
    );
    expect(() => mha.forward({ query: q, key: k, value: k, attentionMask: tf.zeros([B, 1, NQ, NK], 'int32') as tf.Tensor4D })).toThrow(ValueError);
    releaseWeights(mha);
  });

  it('rejects invalid configs with ValueError naming the field', () => {
    expect(() => new MultiHeadAttention({ embedDim: 10, numHeads: 3 })).toThrow(/numHeads/);
    expect(() => new MultiHeadAttention({ embedDim: 0, numHeads: 1 })).toThrow(/embedDim/);
    expect(() => new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: 1 })).toThrow(ValueError);
    expect(() => new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: -0.1 })).toThrow(/dropout/);
  });

  it('leaks no tensors, with masks, positions and returned weights', () => {
    const mha = makeMha(110);
    const x = inputs(11);
    const qp = tf.zeros([B, NQ, D]) as tf.Tensor3D;
    const mask = tf.zeros([B, 1, NQ, NK], 'bool') as tf.Tensor4D;
    const pad = tf.zeros([B, NK], 'bool') as tf.Tensor2D;
    const additive = tf.zeros([1, H, NQ, NK]) as tf.Tensor4D;
    const r1 = expectNoLeaks(
      () => mha.forward({ query: x.query, key: x.key, value: x.value, queryPos: qp, keyPos: x.key, attentionMask: mask, keyPaddingMask: pad, returnWeights: true }),
      { warmup: true },
    );
    expect(r1.weights).toBeDefined();
    const r2 = expectNoLeaks(() => mha.forward({ query: x.query, key: x.key, value: x.value, attentionMask: additive }));
    const r3 = expectNoLeaks(() => mha.forward({ query: x.query, key: x.key, value: x.value, training: true }));
    tf.dispose([r1.output, r1.weights!, r2.output, r3.output, qp, mask, pad, additive, x.query, x.key, x.value]);
    releaseWeights(mha);
  });
});
