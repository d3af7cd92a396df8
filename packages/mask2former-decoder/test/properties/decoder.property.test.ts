import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { selectBackend } from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { Mask2FormerDecoder, maskedAttentionMask } from '@flowseg/mask2former-decoder';
import { TINY } from '../helpers.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

type Kind = 'normal' | 'large' | 'nan' | 'inf';
function tensor(shape: number[], kind: Kind, seed: number, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  return tf.tidy(() => {
    let t = tf.randomNormal(shape, 0, kind === 'large' ? 1e4 : 1, 'float32', seed);
    if ((kind === 'nan' || kind === 'inf') && t.size > 0) {
      const first = tf.oneHot(tf.zeros([1], 'int32'), t.size).reshape(shape);
      t = tf.where(tf.cast(first, 'bool'), tf.fill(shape, kind === 'nan' ? NaN : Infinity), t);
    }
    return dtype === 'int32' ? tf.cast(t, 'int32') : t;
  });
}

describe('Mask2FormerDecoder.forward over random shapes and magnitudes', () => {
  const decoder = new Mask2FormerDecoder({ ...TINY, numLayers: 3 });
  beforeAll(() => {
    const warm = [[2, 2], [2, 2], [2, 2]].map(([h, w]) => tf.zeros([1, h!, w!, 16]) as tf.Tensor4D);
    const mf = tf.zeros([1, 4, 4, 8]) as tf.Tensor4D;
    // Builds the decoder's variables, which would otherwise count as a leak of the first case.
    const out = decoder.forward({ features: warm, maskFeatures: mf });
    tf.dispose([...warm, mf, out as unknown as tf.TensorContainer]);
  });

  it('finite predictions or a typed error naming features / maskFeatures / queryOffset', () => {
    const size = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 4 }), weight: 5 }, fc.constant(0));
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 2 }), weight: 5 }, fc.constant(0)),
          levels: fc.oneof({ arbitrary: fc.constant(3), weight: 5 }, fc.constantFrom(2, 4)),
          sizes: fc.array(fc.tuple(size, size), { minLength: 4, maxLength: 4 }),
          channels: fc.oneof({ arbitrary: fc.constant(16), weight: 5 }, fc.constant(8)),
          maskSize: fc.tuple(size, size),
          maskDim: fc.oneof({ arbitrary: fc.constant(8), weight: 5 }, fc.constant(16)),
          maskBatch: fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, fc.constant(1)),
          kind: fc.constantFrom<Kind>('normal', 'normal', 'large', 'nan', 'inf'),
          dtype: fc.constantFrom<'float32' | 'int32'>('float32', 'float32', 'float32', 'float32', 'int32'),
          offset: fc.constantFrom('none', 'ok', 'wrong'),
          seed: fc.nat(1000),
        }),
        (c) => {
          const features = c.sizes.slice(0, c.levels).map(([h, w], i) => tensor([c.batch, h, w, c.channels], c.kind, c.seed + i, c.dtype) as tf.Tensor4D);
          const maskFeatures = tensor([c.batch + c.maskBatch, ...c.maskSize, c.maskDim], 'large', c.seed + 9) as tf.Tensor4D;
          const queryOffset =
            c.offset === 'none' ? null : (tensor([c.batch, c.offset === 'ok' ? 1 : 2, 16], 'normal', c.seed + 7) as tf.Tensor3D);
          expectFiniteOrTypedError(() => decoder.forward({ features, maskFeatures, queryOffset }), {
            arguments: ['features', 'maskFeatures', 'queryOffset'],
            allowNonFinite: c.kind === 'nan' || c.kind === 'inf',
          });
          tf.dispose([...features, maskFeatures, ...(queryOffset ? [queryOffset] : [])]);
        },
      ),
      { numRuns: 50, seed: 31 },
    );
  });
});

describe('maskedAttentionMask: numerical edge cases', () => {
  /** Mask logits: −1e4 everywhere except the given pixels (+1e4). */
  function logits(h: number, w: number, on: Array<[number, number]>): tf.Tensor4D {
    const data = new Float32Array(h * w).fill(-1e4);
    for (const [y, x] of on) data[y * w + x] = 1e4;
    return tf.tensor4d(data, [1, 1, h, w]);
  }

  it('every query row keeps at least one visible pixel: ±1e4 logits, single pixels, image borders, all off', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }),
        (h, w, th, tw, pixels) => {
          // Corners and edges are where resizing samples half outside the image.
          const on = pixels.map(([y, x]) => [[0, h - 1][y % 2]!, [0, w - 1][x % 2]!] as [number, number]);
          const m = logits(h, w, on);
          const blocked = expectFiniteOrTypedError(() => {
            const b = maskedAttentionMask(m, [th, tw]);
            const visible = tf.tidy(() => tf.any(tf.logicalNot(b), -1));
            expect(Array.from(visible.dataSync())).toEqual([1]);
            tf.dispose([b, visible]);
            return null;
          });
          expect(blocked.kind).toBe('finite');
          m.dispose();
        },
      ),
      { numRuns: 60, seed: 32 },
    );
  });

  it('refuses a wrong rank, dtype or size with a typed error', () => {
    const bad: Array<[tf.Tensor, [number, number]]> = [
      [tf.zeros([1, 4, 4]), [2, 2]],
      [tf.zeros([1, 1, 4, 4], 'int32'), [2, 2]],
      [tf.zeros([1, 1, 4, 4]), [0, 2]],
      [tf.zeros([1, 1, 4, 4]), [NaN, 2]],
    ];
    for (const [t, size] of bad) {
      expect(expectFiniteOrTypedError(() => maskedAttentionMask(t as tf.Tensor4D, size), { arguments: ['maskLogits', 'size[0]', 'size'] }).kind).toBe('error');
      t.dispose();
    }
  });
});
