import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { selectBackend } from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { BoundaryAwareRefinement, boundaryBand } from '@flowseg/bar-head';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const C = 4;

/** Logits at ±scale: a single on-pixel at a corner/edge/centre, all off, all on, or random blobs. */
function logits(b: number, n: number, h: number, w: number, pattern: string, scale: number, seed: number): tf.Tensor4D {
  const data = new Float32Array(b * n * h * w).fill(-scale);
  const plane = h * w;
  for (let p = 0; p < b * n; p++) {
    if (pattern === 'allOn') data.fill(scale, p * plane, (p + 1) * plane);
    if (pattern === 'pixel') {
      const spots = [0, w - 1, (h - 1) * w, plane - 1, Math.floor(h / 2) * w + Math.floor(w / 2)];
      data[p * plane + spots[(seed + p) % spots.length]!] = scale;
    }
    if (pattern === 'random') for (let i = 0; i < plane; i++) data[p * plane + i] = ((i * 7 + seed + p) % 5) - 2 > 0 ? scale : -scale;
  }
  return tf.tensor4d(data, [b, n, h, w]);
}

describe('BoundaryAwareRefinement over random masks and features', () => {
  const bars = (['band', 'dense'] as const).map((evaluation) => new BoundaryAwareRefinement({ evaluation, featureChannels: C, alphaInit: 1, seed: 3 }));
  beforeAll(() => bars.forEach((b) => b.ensureBuilt()));

  it('finite refined logits for ±1e4 logits, single-pixel and border masks, empty/full masks; typed errors otherwise', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 2 }),
          masks: fc.integer({ min: 0, max: 3 }),
          h: fc.integer({ min: 1, max: 7 }),
          w: fc.integer({ min: 1, max: 7 }),
          fh: fc.integer({ min: 1, max: 5 }),
          fw: fc.integer({ min: 1, max: 5 }),
          featureBatch: fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, fc.constant(1)),
          channels: fc.oneof({ arbitrary: fc.constant(C), weight: 5 }, fc.constant(3)),
          pattern: fc.constantFrom('pixel', 'allOff', 'allOn', 'random'),
          scale: fc.constantFrom(0, 1, 1e4),
          evaluation: fc.integer({ min: 0, max: 1 }),
          seed: fc.nat(100),
        }),
        (c) => {
          const m = logits(c.batch, c.masks, c.h, c.w, c.pattern, c.scale, c.seed);
          const f = tf.randomNormal([c.batch + c.featureBatch, c.fh, c.fw, c.channels], 0, 1e2, 'float32', c.seed) as tf.Tensor4D;
          const outcome = expectFiniteOrTypedError(() => bars[c.evaluation]!.forward({ maskLogits: m, pixelFeatures: f }), {
            arguments: ['maskLogits', 'pixelFeatures'],
          });
          expect(outcome.kind).toBe(c.featureBatch !== 0 || c.channels !== C ? 'error' : 'finite');
          tf.dispose([m, f]);
        },
      ),
      { numRuns: 60, seed: 61 },
    );
  });

  it('boundaryBand: a finite band for any probabilities, out-of-range and NaN included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom('pixel', 'allOff', 'allOn', 'random'), fc.constantFrom(1, 1e4, NaN), (h, w, pattern, scale) => {
        const m = logits(1, 2, h, w, pattern, scale, h * w);
        const outcome = expectFiniteOrTypedError(() => boundaryBand(m), { arguments: ['probs'] });
        expect(outcome.kind).toBe('finite');
        m.dispose();
      }),
      { numRuns: 40, seed: 62 },
    );
  });
});
