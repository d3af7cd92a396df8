import { describe, expect, it } from 'vitest';
import { buildBandIndices } from '@flowseg/bar-head';

/**
 * `buildBandIndices` against a direct transcription of its definition on random bands
 * (several images and masks, empty planes, bands touching the borders, kernels 1, 3, 5).
 */

/** The definition, with plain arrays and sets: P, Q = P ⊕ window (clipped), U = image pixels of Q. */
function referenceIndices(band: ArrayLike<number>, [b, n, h, w]: [number, number, number, number], kernel: number) {
  const r = (kernel - 1) / 2;
  const plane = h * w;
  const total = b * n * plane;
  const window = (base: number, y: number, x: number): number[] => {
    const out: number[] = [];
    for (let yy = y - r; yy <= y + r; yy++) {
      for (let xx = x - r; xx <= x + r; xx++) out.push(yy >= 0 && yy < h && xx >= 0 && xx < w ? base + yy * w + xx : -1);
    }
    return out;
  };
  const coords = (i: number) => {
    const base = i - (i % plane);
    const y = Math.floor((i - base) / w);
    return { base, y, x: i - base - y * w };
  };
  const P: number[] = [];
  for (let i = 0; i < total; i++) if (band[i] !== 0) P.push(i);
  const inQ = new Set<number>();
  for (const p of P) {
    const { base, y, x } = coords(p);
    for (const t of window(base, y, x)) if (t >= 0) inQ.add(t);
  }
  const Q = [...inQ].sort((a, c) => a - c);
  const qRow = new Map(Q.map((q, i) => [q, i]));
  const U: number[] = [];
  const uRow = new Map<number, number>();
  const hiddenToImage = Q.map((q) => {
    const image = Math.floor(q / (n * plane));
    const pixel = image * plane + (q % plane);
    if (!uRow.has(pixel)) {
      uRow.set(pixel, U.length);
      U.push(pixel);
    }
    return uRow.get(pixel)!;
  });
  const taps = kernel * kernel;
  return {
    bandCount: P.length,
    hiddenCount: Q.length,
    imageCount: U.length,
    bandPixels: P,
    maskTaps: Q.flatMap((q) => window(coords(q).base, coords(q).y, coords(q).x)),
    hiddenToImage,
    featureTaps: U.flatMap((u) => window(coords(u).base, coords(u).y, coords(u).x)),
    outputTaps: P.flatMap((p) => window(coords(p).base, coords(p).y, coords(p).x).map((t, k) => (t < 0 ? -1 : qRow.get(t)! * taps + k))),
  };
}

describe('buildBandIndices equals its definition', () => {
  it('on random bands', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 150; trial++) {
      const shape: [number, number, number, number] = [1 + Math.floor(rand() * 3), 1 + Math.floor(rand() * 4), 1 + Math.floor(rand() * 9), 1 + Math.floor(rand() * 9)];
      const kernel = [1, 3, 5][Math.floor(rand() * 3)]!;
      const density = rand() * 0.4;
      const size = shape.reduce((a, c) => a * c, 1);
      const band = Float32Array.from({ length: size }, () => (rand() < density ? 1 : 0));
      const got = buildBandIndices(band, shape, kernel);
      const want = referenceIndices(band, shape, kernel);
      const label = `trial ${trial} [${shape}] k=${kernel}`;
      expect(got.bandCount, label).toBe(want.bandCount);
      expect(got.hiddenCount, label).toBe(want.hiddenCount);
      expect(got.imageCount, label).toBe(want.imageCount);
      for (const key of ['bandPixels', 'maskTaps', 'hiddenToImage', 'featureTaps', 'outputTaps'] as const) {
        expect(Array.from(got[key]), `${label} ${key}`).toEqual(want[key]);
      }
    }
  });
});
