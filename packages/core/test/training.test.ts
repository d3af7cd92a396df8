import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm, warmupCosineSchedule, selectBackend, ValueError, WeightsError } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** torch.optim.AdamW on one scalar, written out step by step. */
function referenceAdamW(w0: number, grads: number[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number {
  let w = w0;
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    w = w * (1 - lr * wd);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mh = m / (1 - b1 ** t);
    const vh = v / (1 - b2 ** t);
    w = w - (lr * mh) / (Math.sqrt(vh) + eps);
  });
  return w;
}

describe('AdamW', () => {
  it('matches the decoupled-decay update written out by hand', () => {
    const w = tf.variable(tf.tensor1d([1.5, -2]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const params = new Map([
      ['layer.kernel', w],
      ['layer.bias', b],
    ]);
    const opt = new AdamW({ learningRate: 0.1, weightDecay: 0.05 });
    const gs = [
      [0.3, -1],
      [-0.2, 0.5],
      [1, 0.25],
    ];
    for (const g of gs) {
      const grads = new Map([
        ['layer.kernel', tf.tensor1d(g)],
        ['layer.bias', tf.tensor1d([g[0]!])],
      ]);
      opt.apply(params, grads);
      tf.dispose([...grads.values()]);
    }
    const got = w.dataSync();
    expect(got[0]).toBeCloseTo(referenceAdamW(1.5, gs.map((g) => g[0]!), 0.1, 0.05), 5);
    expect(got[1]).toBeCloseTo(referenceAdamW(-2, gs.map((g) => g[1]!), 0.1, 0.05), 5);
    // Biases are not decayed by default.
    expect(b.dataSync()[0]).toBeCloseTo(referenceAdamW(0.5, gs.map((g) => g[0]!), 0.1, 0), 5);
    expect(opt.step).toBe(3);
    opt.disposeState();
    tf.dispose([w, b]);
  });

  it('state round-trips so a resumed optimizer continues identically', () => {
    const mk = () => new Map([['p', tf.variable(tf.tensor1d([1, 2, 3]))]]);
    const a = mk();
    const b = mk();
    const optA = new AdamW({ learningRate: 0.01, weightDecay: 0.1 });
    const optB = new AdamW({ learningRate: 0.01, weightDecay: 0.1 });
    const g1 = new Map([['p', tf.tensor1d([0.1, -0.2, 0.3])]]);
    const g2 = new Map([['p', tf.tensor1d([-0.4, 0.5, 0.6])]]);
    optA.apply(a, g1);
    optB.apply(b, g1);
    const saved = optB.state();
    const fresh = new AdamW({ learningRate: 0.01, weightDecay: 0.1 });
    fresh.loadState(saved);
    tf.dispose([...saved.values()]);
    optA.apply(a, g2);
    fresh.apply(b, g2);
    expect(Array.from(b.get('p')!.dataSync())).toEqual(Array.from(a.get('p')!.dataSync()));
    expect(fresh.step).toBe(2);
    expect(() => fresh.loadState(new Map([['x', tf.scalar(1)]]))).toThrow(WeightsError);
    for (const o of [optA, optB, fresh]) o.disposeState();
    tf.dispose([...a.values(), ...b.values(), ...g1.values(), ...g2.values()]);
  });

  it('validates config and gradient shapes, and leaks nothing per step', () => {
    expect(() => new AdamW({ learningRate: 0 })).toThrow(ValueError);
    expect(() => new AdamW({ learningRate: 1e-3, beta1: 1 })).toThrow(/beta1/);
    const p = new Map([['p', tf.variable(tf.zeros([2, 2]))]]);
    const opt = new AdamW({ learningRate: 1e-3 });
    const wrong = new Map([['p', tf.zeros([4])]]);
    expect(() => opt.apply(p, wrong)).toThrow(/grads\.p/);
    const g = new Map([['p', tf.ones([2, 2])]]);
    opt.apply(p, g); // creates the moments
    expectNoLeaks(() => opt.apply(p, g));
    opt.disposeState();
    tf.dispose([...p.values(), ...wrong.values(), ...g.values()]);
  });
});

describe('clipByGlobalNorm', () => {
  it('scales by maxNorm / joint norm only when above it', () => {
    const grads = new Map([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([4])],
    ]);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect(Array.from(clipped.get('a')!.dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(clipped.get('b')!.dataSync()[0]).toBeCloseTo(0.8, 6);
    const { grads: same } = clipByGlobalNorm(grads, 10);
    expect(same.get('b')!.dataSync()[0]).toBe(4);
    tf.dispose([...grads.values(), ...clipped.values(), ...same.values()]);
    expect(() => clipByGlobalNorm(new Map(), 0)).toThrow(ValueError);
  });
});

describe('warmupCosineSchedule', () => {
  it('warms up linearly, then follows a half cosine to the floor', () => {
    const o = { peak: 1, warmupSteps: 4, totalSteps: 14, floor: 0.1 };
    expect(warmupCosineSchedule(0, o)).toBeCloseTo(0.25);
    expect(warmupCosineSchedule(3, o)).toBeCloseTo(1);
    expect(warmupCosineSchedule(4, o)).toBeCloseTo(1);
    expect(warmupCosineSchedule(9, o)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 0.5)));
    expect(warmupCosineSchedule(14, o)).toBeCloseTo(0.1);
    expect(() => warmupCosineSchedule(0, { peak: 1, warmupSteps: 5, totalSteps: 2 })).toThrow(ValueError);
  });
});
