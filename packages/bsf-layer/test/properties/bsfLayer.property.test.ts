import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { selectBackend } from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { BSFDecoderLayer } from '@flowseg/bsf-layer';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const D = 8;
type Kind = 'normal' | 'large' | 'nan';
const rand = (shape: number[], kind: Kind, seed: number) =>
  tf.tidy(() => {
    const t = tf.randomNormal(shape, 0, kind === 'large' ? 1e4 : 1, 'float32', seed);
    return kind === 'nan' && t.size > 0 ? tf.div(t, tf.oneHot(tf.zeros([1], 'int32'), t.size).reshape(shape).sub(1).mul(-1)) : t;
  });

describe('BSFDecoderLayer over random conditions, masks and magnitudes', () => {
  const layer = new BSFDecoderLayer({ hiddenDim: D, numHeads: 2, ffnDim: 16, seed: 5 });
  beforeAll(() => layer.ensureBuilt());

  it('finite queries and conditions (zero / many / all-padding conditions, all-masked rows, ±1e4) or a typed error', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 2 }),
          queries: fc.integer({ min: 1, max: 4 }),
          pixels: fc.integer({ min: 1, max: 6 }),
          conditions: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(64)), // 64: a very long list
          conditionBatch: fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, fc.constant(1)),
          conditionWidth: fc.oneof({ arbitrary: fc.constant(D), weight: 5 }, fc.constant(4)),
          maskKind: fc.constantFrom('ones', 'zeros', 'mixed', 'int32'),
          attention: fc.constantFrom('none', 'random', 'allBlocked', 'wrongDtype'),
          kind: fc.constantFrom<Kind>('normal', 'normal', 'large', 'nan'),
          withState: fc.boolean(),
          seed: fc.nat(1000),
        }),
        (c) => {
          const queries = rand([c.batch, c.queries, D], c.kind, c.seed) as tf.Tensor3D;
          const queryPos = rand([c.batch, c.queries, D], 'normal', c.seed + 1) as tf.Tensor3D;
          const memory = rand([c.batch, c.pixels, D], 'large', c.seed + 2) as tf.Tensor3D;
          const memoryPos = rand([c.batch, c.pixels, D], 'normal', c.seed + 3) as tf.Tensor3D;
          const cb = c.batch + c.conditionBatch;
          const conditions = rand([cb, c.conditions, c.conditionWidth], c.kind === 'nan' ? 'normal' : c.kind, c.seed + 4) as tf.Tensor3D;
          const conditionMask = tf.tidy(() =>
            c.maskKind === 'ones' ? tf.ones([cb, c.conditions]) : c.maskKind === 'zeros' ? tf.zeros([cb, c.conditions])
              : c.maskKind === 'int32' ? tf.ones([cb, c.conditions], 'int32') : tf.cast(tf.greater(tf.randomUniform([cb, c.conditions], 0, 1, 'float32', c.seed), 0.5), 'float32'),
          ) as tf.Tensor2D;
          const attentionMask =
            c.attention === 'none' ? null
              : c.attention === 'allBlocked' ? (tf.ones([c.batch, c.queries, c.pixels], 'bool') as tf.Tensor3D)
                : c.attention === 'wrongDtype' ? (tf.ones([c.batch, c.queries, c.pixels]) as tf.Tensor3D)
                  : (tf.tidy(() => tf.greater(tf.randomUniform([c.batch, c.queries, c.pixels], 0, 1, 'float32', c.seed), 0.5)) as tf.Tensor3D);
          const outcome = expectFiniteOrTypedError(
            () => layer.forward({ queries, queryPos, memory, memoryPos, attentionMask, conditions: c.withState ? { conditions, conditionMask } : null }),
            {
              arguments: ['queries', 'memory', 'attentionMask', 'conditions.conditions', 'conditions.conditionMask'],
              allowNonFinite: c.kind === 'nan',
            },
          );
          const mismatched = c.withState && (c.conditionBatch !== 0 || c.conditionWidth !== D || c.maskKind === 'int32');
          if (c.kind !== 'nan') expect(outcome.kind).toBe(mismatched || c.attention === 'wrongDtype' ? 'error' : 'finite');
          tf.dispose([queries, queryPos, memory, memoryPos, conditions, conditionMask, ...(attentionMask ? [attentionMask] : [])]);
        },
      ),
      { numRuns: 60, seed: 51 },
    );
  });
});
