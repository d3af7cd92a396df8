import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { boundaryBand, morphologicalGradient } from '@flowseg/bar-head';
import { asGrid, jsBand, squareMask } from './reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function grid(t: tf.Tensor4D): string[] {
  const [, , h, w] = t.shape;
  return asGrid(t.dataSync(), h, w);
}

describe('boundaryBand', () => {
  it('puts the band of a hard-edged square on both sides of its edge (3×3)', () => {
    const mask = squareMask(8, 8, 2, 5);
    const band = boundaryBand(mask);
    expect(band.dtype).toBe('float32');
    // dilate = 1 on rows/cols 1..6, erode = 1 on rows/cols 3..4: a ring two pixels wide.
    expect(grid(band)).toEqual([
      '........',
      '.######.',
      '.######.',
      '.##..##.',
      '.##..##.',
      '.######.',
      '.######.',
      '........',
    ]);
    const v = band.arraySync()[0]![0]!;
    expect(v[1]![1]).toBe(1); // diagonal neighbour of the corner, outside the square
    expect(v[2]![2]).toBe(1); // the corner itself
    expect(v[3]![3]).toBe(0); // interior
    expect(v[0]![0]).toBe(0); // far background
    expect(v[7]![4]).toBe(0);
    tf.dispose([mask, band]);
  });

  it('respects the kernel size (5×5 gives a band four pixels wide)', () => {
    const mask = squareMask(12, 12, 3, 8);
    const band = boundaryBand(mask, { kernel: 5 });
    expect(grid(band)).toEqual([
      '............',
      '.##########.',
      '.##########.',
      '.##########.',
      '.##########.',
      '.####..####.',
      '.####..####.',
      '.##########.',
      '.##########.',
      '.##########.',
      '.##########.',
      '............',
    ]);
    tf.dispose([mask, band]);
  });

  it('clips the window at the image border: a mask running off the edge has no band there', () => {
    const mask = squareMask(8, 8, 0, 3, 0, 7); // rows 0..3, every column
    const band = boundaryBand(mask);
    expect(grid(band)).toEqual([
      '........',
      '........',
      '........',
      '########',
      '########',
      '........',
      '........',
      '........',
    ]);
    tf.dispose([mask, band]);
  });

  it('respects ε with a strict comparison', () => {
    const v = new Float32Array(49).fill(0.5);
    v[3 * 7 + 3] = 0.65; // g = 0.15 on the 3×3 (5×5) neighbourhood of the centre
    const p = tf.tensor4d(v, [1, 1, 7, 7]);
    const at01 = boundaryBand(p, { epsilon: 0.1 });
    const at02 = boundaryBand(p, { epsilon: 0.2 });
    const wide = boundaryBand(p, { epsilon: 0.1, kernel: 5 });
    expect(grid(at01)).toEqual(['.......', '.......', '..###..', '..###..', '..###..', '.......', '.......']);
    expect(at02.sum().dataSync()[0]).toBe(0);
    expect(wide.sum().dataSync()[0]).toBe(25);
    const flat = tf.fill([1, 1, 7, 7], 0.3) as tf.Tensor4D;
    const none = boundaryBand(flat, { epsilon: 0 });
    expect(none.sum().dataSync()[0]).toBe(0); // g = 0 is not > 0
    tf.dispose([p, at01, at02, wide, flat, none]);
  });

  it('matches a plain-JS window loop on random soft masks (kernels 3/5/7, several ε, relative mode)', () => {
    const b = 2;
    const n = 3;
    const h = 13;
    const w = 11;
    // Smooth-ish random probabilities so that g spans the whole [0, 1] range.
    const probs = tf.tidy(() =>
      tf.sigmoid(tf.mul(tf.randomNormal([b, n, h, w], 0, 1, 'float32', 7), 3)),
    ) as tf.Tensor4D;
    const data = probs.dataSync() as Float32Array;
    for (const kernel of [3, 5, 7]) {
      for (const epsilon of [0, 0.1, 0.35, 0.8]) {
        for (const relative of [false, true]) {
          const band = boundaryBand(probs, { kernel, epsilon, adaptiveThreshold: relative ? 'relative' : 'off' });
          const got = band.dataSync();
          for (let m = 0; m < b * n; m++) {
            const want = jsBand(data.subarray(m * h * w, (m + 1) * h * w), h, w, kernel, epsilon, relative);
            expect(Array.from(got.subarray(m * h * w, (m + 1) * h * w))).toEqual(Array.from(want));
          }
          band.dispose();
        }
      }
    }
    probs.dispose();
  });

  it('relative mode finds the edge of a low-contrast mask that the fixed ε misses', () => {
    const v = new Float32Array(64).fill(0.45);
    for (let y = 0; y < 8; y++) for (let x = 4; x < 8; x++) v[y * 8 + x] = 0.52; // step of 0.07 < ε
    const p = tf.tensor4d(v, [1, 1, 8, 8]);
    const fixed = boundaryBand(p);
    const relative = boundaryBand(p, { adaptiveThreshold: 'relative' });
    expect(fixed.sum().dataSync()[0]).toBe(0);
    expect(grid(relative)[0]).toBe('...##...');
    expect(relative.sum().dataSync()[0]).toBe(16);
    tf.dispose([p, fixed, relative]);
  });

  it('passes no gradient: d(Σ w·B)/dp and d(Σ w·g)/dp are exactly zero', () => {
    const p = tf.tidy(() => tf.sigmoid(tf.randomNormal([1, 2, 6, 6], 0, 2, 'float32', 3))) as tf.Tensor4D;
    const wts = tf.randomNormal([1, 2, 6, 6], 0, 1, 'float32', 4);
    const dBand = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(boundaryBand(x as tf.Tensor4D), wts)))(p);
    const dGrad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(morphologicalGradient(x as tf.Tensor4D), wts)))(p);
    expect(Array.from(dBand.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(dGrad.dataSync()).every((v) => v === 0)).toBe(true);
    expect(dBand.shape).toEqual(p.shape);
    tf.dispose([p, wts, dBand, dGrad]);
  });

  it('rejects bad shapes, dtypes and options', () => {
    const p3 = tf.zeros([2, 8, 8]) as unknown as tf.Tensor4D;
    const pInt = tf.zeros([1, 1, 8, 8], 'int32') as tf.Tensor4D;
    const p = tf.zeros([1, 1, 8, 8]) as tf.Tensor4D;
    expect(() => boundaryBand(p3)).toThrow(ShapeError);
    expect(() => boundaryBand(p3)).toThrow(/probs: expected \[batch, masks, height, width\], received \[2, 8, 8\]/);
    expect(() => boundaryBand(pInt)).toThrow(DTypeError);
    expect(() => boundaryBand(p, { kernel: 4 })).toThrow(ValueError);
    expect(() => boundaryBand(p, { kernel: 1 })).toThrow(/kernel: expected an odd integer ≥ 3/);
    expect(() => boundaryBand(p, { epsilon: 1 })).toThrow(ValueError);
    expect(() => boundaryBand(p, { epsilon: -0.1 })).toThrow(/epsilon/);
    expect(() => boundaryBand(p, { epsilon: Number.NaN })).toThrow(/epsilon/);
    expect(() => boundaryBand(p, { adaptiveThreshold: 'learned' as 'off' })).toThrow(/adaptiveThreshold/);
    expect(() => morphologicalGradient(p, 2)).toThrow(ValueError);
    tf.dispose([p3, pInt, p]);
  });

  it('leaks no tensors', () => {
    const p = tf.tidy(() => tf.sigmoid(tf.randomNormal([2, 3, 9, 9], 0, 2, 'float32', 5))) as tf.Tensor4D;
    tf.dispose(expectNoLeaks(() => boundaryBand(p), { warmup: true }));
    tf.dispose(expectNoLeaks(() => boundaryBand(p, { adaptiveThreshold: 'relative', kernel: 5 }), { warmup: true }));
    tf.dispose(expectNoLeaks(() => morphologicalGradient(p), { warmup: true }));
    tf.dispose(
      expectNoLeaks(() => tf.grad((x: tf.Tensor) => tf.sum(boundaryBand(x as tf.Tensor4D)))(p), { warmup: true }),
    );
    p.dispose();
  });
});
