import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import {
  FeedForward,
  LayerNorm,
  Linear,
  MultiHeadAttention,
  CrossAttentionBlock,
  SelfAttentionBlock,
  selectBackend,
  sinePositionEncoding2d,
} from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { axis, dtype, makeTensor, maybeWrong, nonFinite, valueKind } from './arbitraries.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const RUNS = { numRuns: 100, seed: 11 };

describe('per-feature layers (Linear, LayerNorm, FeedForward) over random inputs', () => {
  const dim = 6;
  const layers = {
    linear: new Linear({ inFeatures: dim, outFeatures: 4, seed: 1 }),
    norm: new LayerNorm({ features: dim }),
    ffn: new FeedForward({ dim, hiddenDim: 8, seed: 2 }),
  };
  beforeAll(() => Object.values(layers).forEach((l) => l.ensureBuilt()));

  it('finite results or a typed error naming x; never a raw TF.js error, never a leak', () => {
    fc.assert(
      fc.property(
        fc.array(axis(4), { minLength: 0, maxLength: 3 }),
        maybeWrong(dim),
        dtype(),
        valueKind(),
        fc.constantFrom(...(Object.keys(layers) as Array<keyof typeof layers>)),
        fc.nat(),
        (lead, last, dt, kind, which, seed) => {
          const x = makeTensor([...lead, last], dt, kind, seed);
          const layer = layers[which];
          const outcome = expectFiniteOrTypedError(() => layer.forward(x), {
            arguments: ['x'],
            allowNonFinite: nonFinite(kind),
          });
          x.dispose();
          // The only acceptable refusals: wrong dtype or wrong feature axis.
          if (outcome.kind === 'error') expect(dt !== 'float32' || last !== dim).toBe(true);
          else expect(dt === 'float32' && last === dim).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('LayerNorm of a constant (zero-variance) row at ±1e4 stays finite', () => {
    const x = tf.fill([2, dim], 1e4);
    const outcome = expectFiniteOrTypedError(() => layers.norm.forward(x));
    expect(outcome.kind).toBe('finite');
    x.dispose();
  });
});

describe('MultiHeadAttention over random shapes, masks and magnitudes', () => {
  const embedDim = 4;
  const mha = new MultiHeadAttention({ embedDim, numHeads: 2, seed: 3 });
  const cross = new CrossAttentionBlock({ dim: embedDim, numHeads: 2, seed: 4 });
  const self = new SelfAttentionBlock({ dim: embedDim, numHeads: 2, seed: 5 });
  beforeAll(() => [mha, cross, self].forEach((l) => l.ensureBuilt()));

  it('finite results (even with all-blocked rows and ±1e4 inputs) or a typed error naming the argument', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: axis(3),
          queries: axis(4),
          keys: axis(5),
          keyBatch: fc.option(axis(3), { nil: undefined }),
          keyWidth: maybeWrong(embedDim),
          queryDtype: dtype(),
          kind: valueKind(),
          mask: fc.constantFrom('none', 'bool', 'allBlocked', 'float', 'padding', 'wrongShape'),
          seed: fc.nat(),
        }),
        (c) => {
          const kb = c.keyBatch ?? c.batch;
          const query = makeTensor([c.batch, c.queries, embedDim], c.queryDtype, c.kind, c.seed) as tf.Tensor3D;
          const key = makeTensor([kb, c.keys, c.keyWidth], 'float32', 'normal', c.seed + 1) as tf.Tensor3D;
          const owned: tf.Tensor[] = [query, key];
          let attentionMask: tf.Tensor4D | null = null;
          let keyPaddingMask: tf.Tensor2D | null = null;
          if (c.mask === 'bool') attentionMask = makeTensor([c.batch, 1, c.queries, c.keys], 'bool', 'normal', c.seed) as tf.Tensor4D;
          if (c.mask === 'allBlocked') attentionMask = tf.ones([1, 1, c.queries, c.keys], 'bool') as tf.Tensor4D;
          if (c.mask === 'float') attentionMask = makeTensor([1, 2, c.queries, c.keys], 'float32', 'large', c.seed) as tf.Tensor4D;
          if (c.mask === 'padding') keyPaddingMask = makeTensor([kb, c.keys], 'bool', 'normal', c.seed) as tf.Tensor2D;
          if (c.mask === 'wrongShape') attentionMask = tf.zeros([1, 1, c.queries + 1, c.keys], 'bool') as tf.Tensor4D;
          if (attentionMask) owned.push(attentionMask);
          if (keyPaddingMask) owned.push(keyPaddingMask);
          const opts = {
            arguments: ['query', 'key', 'value', 'attentionMask', 'keyPaddingMask', 'queries', 'memory'],
            allowNonFinite: c.kind === 'nan' || c.kind === 'inf' || c.kind === '-inf',
          };
          expectFiniteOrTypedError(
            () => mha.forward({ query, key, value: key, attentionMask, keyPaddingMask, returnWeights: true }),
            opts,
          );
          expectFiniteOrTypedError(() => cross.forward({ queries: query, memory: key, attentionMask: null } as never), opts);
          expectFiniteOrTypedError(() => self.forward({ queries: query }), opts);
          tf.dispose(owned);
        },
      ),
      RUNS,
    );
  });

  it('a query row with every key blocked attends to nothing: zero weights, output = output bias', () => {
    const query = tf.randomNormal([1, 3, embedDim], 0, 1e4, 'float32', 1) as tf.Tensor3D;
    const key = tf.randomNormal([1, 5, embedDim], 0, 1e4, 'float32', 2) as tf.Tensor3D;
    const mask = tf.tensor4d([true, true, true, true, true, false, true, true, true, true, true, true, true, true, true], [1, 1, 3, 5]);
    const { output, weights } = mha.forward({ query, key, value: key, attentionMask: mask, returnWeights: true });
    const w = weights!.arraySync()[0]![0]!;
    expect(w[0]).toEqual([0, 0, 0, 0, 0]);
    expect(w[1]![0]).toBeCloseTo(1, 6);
    expect(Array.from(output.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([query, key, mask, output, weights!]);
  });
});

describe('sinePositionEncoding2d', () => {
  it('finite [h·w, c] or a ValueError naming height, width or channels', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constantFrom(NaN, Infinity, 1.5)),
        fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constantFrom(NaN, 0.5)),
        fc.oneof(fc.integer({ min: -2, max: 17 }), fc.constantFrom(NaN, 3)),
        (h, w, c) => {
          const outcome = expectFiniteOrTypedError(() => sinePositionEncoding2d(h, w, c), {
            arguments: ['height', 'width', 'channels'],
          });
          const valid = [h, w].every((v) => Number.isInteger(v) && v > 0) && Number.isInteger(c) && c > 0 && c % 2 === 0;
          expect(outcome.kind).toBe(valid ? 'finite' : 'error');
        },
      ),
      { numRuns: 80, seed: 12 },
    );
  });
});
