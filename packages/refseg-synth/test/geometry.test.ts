import { describe, expect, it } from 'vitest';
import { Prng, SHAPES, rasterizeShape, radiusForArea, shapeVertices, unitShapeArea } from '../src/index.js';
import { areaIndependent, insideIndependent, perimeterIndependent } from './support/independentGeometry.js';

describe('shape geometry', () => {
  it('unit areas match the shoelace area of the outline and the independent formulas', () => {
    for (const shape of SHAPES) {
      expect(unitShapeArea(shape)).toBeCloseTo(areaIndependent(shape, 1), 12);
      const v = shapeVertices({ shape, cx: 3, cy: -2, radius: 1, rotation: 0.3 });
      if (v === null) continue;
      let twice = 0;
      for (let k = 0; k < v.length; k++) {
        const [x1, y1] = v[k]!;
        const [x2, y2] = v[(k + 1) % v.length]!;
        twice += x1 * y2 - x2 * y1;
      }
      expect(Math.abs(twice) / 2).toBeCloseTo(unitShapeArea(shape), 12);
    }
    expect(radiusForArea('circle', Math.PI * 49)).toBeCloseTo(7, 12);
  });

  it('rasterises exactly the pixels whose centres the independent tests put inside', () => {
    const rng = new Prng(11);
    for (let t = 0; t < 300; t++) {
      const g = { shape: SHAPES[t % SHAPES.length]!, cx: rng.uniform(24, 40), cy: rng.uniform(24, 40), radius: rng.uniform(3, 22), rotation: rng.uniform(-Math.PI, Math.PI) };
      const got = new Uint8Array(64 * 64);
      rasterizeShape(g, 64, 64, (i) => (got[i] = 1));
      let mismatches = 0;
      for (let j = 0; j < 64; j++) for (let i = 0; i < 64; i++) if (insideIndependent(g, i + 0.5, j + 0.5) !== (got[j * 64 + i] === 1)) mismatches++;
      expect(mismatches, `${g.shape} r=${g.radius}`).toBe(0);
    }
  });

  it('pixel counts approximate the geometric area (πr² for circles) without bias', () => {
    const rng = new Prng(12);
    for (const shape of SHAPES) {
      let relSum = 0;
      const trials = 200;
      for (let t = 0; t < trials; t++) {
        const r = rng.uniform(4, 20);
        let n = 0;
        rasterizeShape({ shape, cx: rng.uniform(24, 40), cy: rng.uniform(24, 40), radius: r, rotation: rng.uniform(-1, 1) }, 64, 64, () => n++);
        const area = areaIndependent(shape, r);
        // Each boundary pixel is off by < 1; the count error stays well under half the perimeter.
        expect(Math.abs(n - area)).toBeLessThan(0.4 * perimeterIndependent(shape, r) + 1);
        relSum += (n - area) / area;
      }
      expect(Math.abs(relSum / trials), shape).toBeLessThan(0.01);
    }
  });

  it('clips shapes to the image', () => {
    const idx: number[] = [];
    rasterizeShape({ shape: 'circle', cx: 0, cy: 0, radius: 3, rotation: 0 }, 8, 8, (i) => idx.push(i));
    expect(idx.every((i) => i >= 0 && i < 64)).toBe(true);
    expect(idx.length).toBeGreaterThan(0);
  });
});
