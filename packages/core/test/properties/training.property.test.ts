import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { AdamW, FlowSegError, ValueError, clipByGlobalNorm, selectBackend, warmupCosineSchedule } from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { makeTensor, nonFinite, valueKind } from './arbitraries.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const anyNumber = () => fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: -5, max: 50 }), fc.constantFrom(NaN, Infinity, -Infinity, 0));

describe('warmupCosineSchedule', () => {
  it('returns a finite rate in [floor, peak] or throws a ValueError, for any numbers', () => {
    fc.assert(
      fc.property(anyNumber(), anyNumber(), anyNumber(), anyNumber(), fc.option(anyNumber(), { nil: undefined }), (step, peak, warmupSteps, totalSteps, floor) => {
        let rate: number;
        try {
          rate = warmupCosineSchedule(step, { peak, warmupSteps, totalSteps, floor });
        } catch (e) {
          expect(e).toBeInstanceOf(ValueError);
          return;
        }
        expect(Number.isFinite(rate)).toBe(true);
        expect(rate).toBeGreaterThanOrEqual(floor ?? 0);
        expect(rate).toBeLessThanOrEqual(peak);
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe('clipByGlobalNorm', () => {
  it('finite clipped gradients with norm ≤ maxNorm, or a non-finite norm reported for the caller to skip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }), valueKind(), fc.nat()), { maxLength: 4 }),
        fc.oneof(fc.double({ min: 1e-3, max: 10, noNaN: true }), fc.constantFrom(0, -1, NaN)),
        (specs, maxNorm) => {
          const grads = new Map(specs.map(([shape, kind, seed], i) => [`g${i}`, makeTensor(shape, 'float32', kind, seed)]));
          const anyNonFinite = specs.some(([shape, kind]) => nonFinite(kind) && shape.every((d) => d > 0));
          let result: ReturnType<typeof clipByGlobalNorm> | undefined;
          const outcome = expectFiniteOrTypedError(
            () => {
              result = clipByGlobalNorm(grads, maxNorm);
              const out = [...result.grads.values()].map((g) => tf.clone(g));
              tf.dispose([...result.grads.values()]);
              return out;
            },
            { arguments: ['maxNorm'], allowNonFinite: anyNonFinite },
          );
          if (outcome.kind === 'finite') {
            if (anyNonFinite) expect(Number.isFinite(result!.norm)).toBe(false);
            else expect(Number.isFinite(result!.norm)).toBe(true);
          } else expect(maxNorm > 0).toBe(false);
          tf.dispose([...grads.values()]);
        },
      ),
      { numRuns: 80, seed: 6 },
    );
  });
});

describe('AdamW', () => {
  it('a refused update (wrong shape or dtype of any gradient) changes nothing: weights, moments, step', () => {
    fc.assert(
      fc.property(fc.nat(2), fc.constantFrom('shape', 'dtype'), (bad, problem) => {
        const params = new Map([0, 1, 2].map((i) => [`w${i}`, tf.variable(tf.fill([2, 3], i + 1))]));
        const opt = new AdamW({ learningRate: 0.1 });
        const grads = new Map(
          [...params.keys()].map((name, i) => [
            name,
            i !== bad ? tf.ones([2, 3]) : problem === 'shape' ? tf.ones([3, 2]) : tf.ones([2, 3], 'int32'),
          ]),
        );
        const before = tf.memory().numTensors;
        let caught: unknown;
        try {
          opt.apply(params, grads);
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(FlowSegError);
        expect((caught as FlowSegError).message).toContain(`w${bad}`);
        expect(opt.step).toBe(0);
        expect(tf.memory().numTensors).toBe(before);
        params.forEach((v, name) => expect(Array.from(v.dataSync()), name).toEqual(new Array(6).fill(Number(name.slice(1)) + 1)));
        // The same optimizer then takes a good step normally.
        opt.apply(params, new Map([...params.keys()].map((n) => [n, tf.onesLike(params.get(n)!)])));
        expect(opt.step).toBe(1);
        tf.dispose([...grads.values(), ...params.values()]);
        opt.disposeState();
      }),
      { numRuns: 6, seed: 7 },
    );
  });
});
