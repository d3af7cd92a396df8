import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { selectBackend } from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { SetCriterion, linearSumAssignment, type SegmentationTarget } from '@flowseg/mask2former-decoder';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

/** A target mask with a single pixel on, at a corner/edge or inside (`where`). */
function singlePixel(h: number, w: number, where: number): Float32Array {
  const m = new Float32Array(h * w);
  const spots = [0, w - 1, (h - 1) * w, h * w - 1, Math.floor(h / 2) * w + Math.floor(w / 2)];
  m[spots[where % spots.length]!] = 1;
  return m;
}

describe('SetCriterion: numerical safety', () => {
  it('finite losses for ±1e4 mask and class logits, single-pixel border targets, empty targets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 2 }),
        fc.constantFrom(1, 1e2, 1e4),
        fc.nat(),
        (batch, queries, size, targetCounts, scale, seed) => {
          const criterion = new SetCriterion({ numClasses: 2, numPoints: 16, seed });
          const predLogits = tf.mul(tf.randomNormal([batch, queries, 3], 0, 1, 'float32', seed), scale) as tf.Tensor3D;
          const predMasks = tf.mul(tf.sign(tf.randomNormal([batch, queries, size, size], 0, 1, 'float32', seed + 1)), scale) as tf.Tensor4D;
          const targets: SegmentationTarget[] = Array.from({ length: batch }, (_, b) => {
            const n = targetCounts[b]!;
            const masks = Array.from({ length: n }, (_, i) => singlePixel(size + 1, size + 2, seed + i));
            return {
              labels: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32'),
              masks: tf.tensor3d(masks.flatMap((m) => Array.from(m)), [n, size + 1, size + 2]),
            };
          });
          const outcome = expectFiniteOrTypedError(() => {
            const losses = criterion.compute({ predLogits, predMasks }, targets);
            return { total: losses.total, perOutput: losses.perOutput };
          });
          expect(outcome.kind).toBe('finite');
          tf.dispose([predLogits, predMasks, ...targets.flatMap((t) => [t.labels, t.masks])]);
        },
      ),
      { numRuns: 30, seed: 41 },
    );
  });

  it('NaN/∞ predictions or bad targets: a typed error naming the argument, or a non-finite total the caller can skip; never a hang', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('nanLogits', 'infMasks', 'labelOutOfRange', 'labelDtype', 'maskRank', 'batchMismatch'),
        (problem) => {
          const criterion = new SetCriterion({ numClasses: 2, numPoints: 16, seed: 1 });
          const predLogits = (problem === 'nanLogits' ? tf.fill([1, 3, 3], NaN) : tf.zeros([1, 3, 3])) as tf.Tensor3D;
          const predMasks = (problem === 'infMasks' ? tf.fill([1, 3, 4, 4], Infinity) : tf.zeros([1, 3, 4, 4])) as tf.Tensor4D;
          const labels = problem === 'labelOutOfRange' ? tf.tensor1d([5], 'int32') : problem === 'labelDtype' ? tf.tensor1d([0.5]) : tf.tensor1d([1], 'int32');
          const masks = problem === 'maskRank' ? tf.ones([1, 4]) : tf.ones([1, 4, 4]);
          const targets = [{ labels, masks }, ...(problem === 'batchMismatch' ? [{ labels, masks }] : [])] as SegmentationTarget[];
          const outcome = expectFiniteOrTypedError(
            () => {
              const losses = criterion.compute({ predLogits, predMasks }, targets);
              return { total: losses.total, perOutput: losses.perOutput };
            },
            { arguments: ['predLogits', 'predMasks', 'targets'], allowNonFinite: problem === 'nanLogits' || problem === 'infMasks' },
          );
          if (problem !== 'nanLogits' && problem !== 'infMasks') expect(outcome.kind).toBe('error');
          tf.dispose([predLogits, predMasks, labels, masks]);
        },
      ),
      { numRuns: 12, seed: 42 },
    );
  }, 60_000);

  it('linearSumAssignment: any finite cost matrix gives a valid assignment; NaN/∞ costs a typed error, never a hang', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.oneof({ arbitrary: fc.double({ min: -1e4, max: 1e4, noNaN: true }), weight: 10 }, fc.constantFrom(NaN, Infinity, -Infinity)), { minLength: 25, maxLength: 25 }),
        (rows, cols, values) => {
          const cost = Float64Array.from(values.slice(0, rows * cols));
          const finite = cost.every(Number.isFinite);
          try {
            const a = linearSumAssignment(cost, rows, cols);
            expect(finite).toBe(true);
            expect(a.rowIndices.length).toBe(Math.min(rows, cols));
            expect(new Set(a.colIndices).size).toBe(a.colIndices.length);
          } catch (e) {
            expect((e as Error).constructor.name, String(e)).toMatch(/ValueError|ShapeError/);
            expect(finite).toBe(false);
          }
        },
      ),
      { numRuns: 200, seed: 43 },
    );
  });
});
