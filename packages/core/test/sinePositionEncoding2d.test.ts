import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, sinePositionEncoding2d, ValueError } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { maxAbsDiff } from './support/reference.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Row `i`, column `j` (0-based) of a `[h·w, c]` encoding. */
function pixel(t: tf.Tensor2D, w: number, i: number, j: number): number[] {
  return t.arraySync()[i * w + j]!;
}

describe('sinePositionEncoding2d', () => {
  it('matches hand-computed values (normalize: y = i/(H+1e-6)·2π, i 1-based; sin even, cos odd; y then x)', () => {
    // H = 2, W = 4, 8 channels → F = 4 features per axis, dim_t = [1, 1, 100, 100].
    const t = expectNoLeaks(() => sinePositionEncoding2d(2, 4, 8));
    expect(t.shape).toEqual([8, 8]);
    // Row 2 (1-based): y = 2/2·2π = 2π. Column 1: x = 1/4·2π = π/2.
    // (The 1e-6 in the denominator moves these by ~1e-6 only.)
    const p = pixel(t, 4, 1, 0);
    const want = [
      0, // sin(2π)
      1, // cos(2π)
      0.06279052, // sin(2π/100)
      0.99802673, // cos(2π/100)
      1, // sin(π/2)
      0, // cos(π/2)
      0.01570732, // sin(π/200)
      0.99987663, // cos(π/200)
    ];
    expect(maxAbsDiff(p, want)).toBeLessThan(1e-5);
    // Row 1: y = 1/2·2π = π. Column 3: x = 3/4·2π = 3π/2.
    const q = pixel(t, 4, 0, 2);
    expect(maxAbsDiff(q, [0, -1, 0.03141076, 0.99950656, -1, 0, 0.04710645, 0.99888987])).toBeLessThan(1e-5);
  });

  it('follows the formula exactly, including the 1e-6 term, at every pixel', () => {
    const [h, w, c] = [3, 5, 12];
    const t = sinePositionEncoding2d(h, w, c);
    const f = c / 2;
    const data = t.arraySync();
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const y = ((i + 1) / (h + 1e-6)) * 2 * Math.PI;
        const x = ((j + 1) / (w + 1e-6)) * 2 * Math.PI;
        const feats = (v: number) => Array.from({ length: f }, (_, k) => {
          const a = v / Math.pow(10000, (2 * Math.floor(k / 2)) / f);
          return k % 2 === 0 ? Math.sin(a) : Math.cos(a);
        });
        expect(maxAbsDiff(data[i * w + j]!, [...feats(y), ...feats(x)])).toBeLessThan(1e-6);
      }
    }
  });

  it('without normalization uses 1-based raw coordinates; honours temperature and scale', () => {
    const raw = sinePositionEncoding2d(2, 3, 4, { normalize: false, temperature: 4 });
    // F = 2, dim_t = [1, 1]: features sin(c), cos(c). Row 2, column 3 → y = 2, x = 3.
    expect(maxAbsDiff(pixel(raw, 3, 1, 2), [Math.sin(2), Math.cos(2), Math.sin(3), Math.cos(3)])).toBeLessThan(1e-6);
    const scaled = sinePositionEncoding2d(1, 1, 4, { scale: 1 });
    const v = 1 / (1 + 1e-6);
    expect(maxAbsDiff(pixel(scaled, 1, 0, 0), [Math.sin(v), Math.cos(v), Math.sin(v), Math.cos(v)])).toBeLessThan(1e-6);
  });

  it('rejects invalid sizes with ValueError naming the argument', () => {
    expect(() => sinePositionEncoding2d(2, 2, 7)).toThrow(/channels: expected a positive even integer, received 7/);
    expect(() => sinePositionEncoding2d(0, 2, 8)).toThrow(ValueError);
    expect(() => sinePositionEncoding2d(2, 1.5, 8)).toThrow(/width/);
  });
});
