import { describe, expect, it } from 'vitest';
import { SHAPE_CORNERS, evaluateExpression, renderExpression, type Expression, type SceneObject, type ColorName, type ShapeName, type SizeName } from '../src/index.js';

// A hand-made scene: every object gets one visible pixel so it counts as present.
function obj(id: number, shape: ShapeName, color: ColorName, size: SizeName, cx: number, cy: number, area: number): SceneObject {
  return { id, shape, color, size, corners: SHAPE_CORNERS[shape], cx, cy, radius: 5, rotation: 0, area, fullPixels: 80, visiblePixels: 1 };
}
function sceneOf(objects: SceneObject[], hidden: number[] = []) {
  const masks = objects.map((o) => {
    const m = new Uint8Array(64);
    if (!hidden.includes(o.id)) m[o.id] = 1;
    return m;
  });
  return { objects, masks };
}
const M = { positionPx: 4, areaRatio: 1.25 };

//  0 small red circle (10, 10)     1 large red square (40, 12)    2 small blue triangle (25, 40)
//  3 large blue circle (50, 50)    4 small green star (5, 55)     5 small red circle (55, 30)
const S = sceneOf([
  obj(0, 'circle', 'red', 'small', 10, 10, 90),
  obj(1, 'square', 'red', 'large', 40, 12, 300),
  obj(2, 'triangle', 'blue', 'small', 25, 40, 100),
  obj(3, 'circle', 'blue', 'large', 50, 50, 350),
  obj(4, 'star', 'green', 'small', 5, 55, 95),
  obj(5, 'circle', 'red', 'small', 55, 30, 120),
]);

function ev(e: Expression, scene = S) {
  return evaluateExpression(scene, e, M);
}

describe('evaluateExpression (hand-computed referents)', () => {
  it('filters by attributes and corners', () => {
    expect(ev({ quantity: 'one', ref: { type: 'filter', filter: { color: 'red', shape: 'circle' } } }).referents).toEqual([0, 5]);
    expect(ev({ quantity: 'one', ref: { type: 'filter', filter: { size: 'large', color: 'red' } } }).referents).toEqual([1]);
    expect(ev({ quantity: 'one', ref: { type: 'filter', filter: { corners: 10 } } }).referents).toEqual([4]);
    expect(ev({ quantity: 'one', ref: { type: 'filter', filter: { color: 'green', shape: 'circle' } } }).referents).toEqual([]);
    expect(ev({ quantity: 'all', ref: { type: 'filter', filter: { shape: 'circle' } } }).referents).toEqual([0, 3, 5]);
  });

  it('resolves spatial relations to a unique anchor', () => {
    const blueTriangle = { type: 'filter', filter: { color: 'blue', shape: 'triangle' } } as const;
    // Circles left of the blue triangle (x = 25): object 0 (x = 10).
    expect(ev({ quantity: 'one', ref: { type: 'relation', filter: { shape: 'circle' }, relation: 'left-of', anchor: blueTriangle } })).toEqual({ referents: [0], problems: [] });
    expect(ev({ quantity: 'one', ref: { type: 'relation', filter: { shape: 'circle' }, relation: 'right-of', anchor: blueTriangle } }).referents).toEqual([3, 5]);
    // y grows downward: above the triangle (y = 40) are 0 (10) and 5 (30); the circle 3 (50) is below.
    expect(ev({ quantity: 'one', ref: { type: 'relation', filter: { shape: 'circle' }, relation: 'above', anchor: blueTriangle } }).referents).toEqual([0, 5]);
    expect(ev({ quantity: 'one', ref: { type: 'relation', filter: { shape: 'circle' }, relation: 'below', anchor: blueTriangle } }).referents).toEqual([3]);
    // "the red shape left of the circle": three circles, so the anchor is not unique.
    const r = ev({ quantity: 'one', ref: { type: 'relation', filter: { color: 'red' }, relation: 'left-of', anchor: { type: 'filter', filter: { shape: 'circle' } } } });
    expect(r.referents).toEqual([]);
    expect(r.problems.join()).toMatch(/anchor resolves to 3 objects/);
  });

  it('flags relations decided within the position margin', () => {
    const near = sceneOf([obj(0, 'circle', 'red', 'small', 20, 20, 90), obj(1, 'square', 'blue', 'small', 23, 40, 90)]);
    const r = ev({ quantity: 'one', ref: { type: 'relation', filter: { shape: 'circle' }, relation: 'left-of', anchor: { type: 'filter', filter: { shape: 'square' } } } }, near);
    expect(r.referents).toEqual([0]);
    expect(r.problems.length).toBe(1);
  });

  it('picks extremes by x, y, area and corners and flags near ties', () => {
    const ext = (measure: 'x' | 'y' | 'area' | 'corners', order: 'min' | 'max', filter = {}) => ev({ quantity: 'one', ref: { type: 'extreme', filter, measure, order } });
    expect(ext('x', 'min', { shape: 'circle' })).toEqual({ referents: [0], problems: [] });
    expect(ext('x', 'max', { shape: 'circle' })).toEqual({ referents: [5], problems: [] });
    expect(ext('y', 'max', { color: 'red' }).referents).toEqual([5]);
    expect(ext('area', 'max', { color: 'red' }).referents).toEqual([1]);
    expect(ext('corners', 'max').referents).toEqual([4]);
    expect(ext('corners', 'min', { color: 'red' }).referents).toEqual([0, 5]); // a tie: two circles
    // Areas 90 vs 120 of the small red circles: ratio 1.33 > 1.25, fine; 100 vs 95 would be flagged.
    expect(ext('area', 'min', { shape: 'circle', color: 'red' })).toEqual({ referents: [0], problems: [] });
    expect(ext('area', 'max', { size: 'small', shape: 'triangle' }).problems).toEqual([]);
    expect(ext('area', 'max', { size: 'small', color: 'blue' }).referents).toEqual([2]);
    expect(ext('area', 'max', { size: 'small' }).problems.length).toBeGreaterThan(0); // 120 vs 100 and 95
  });

  it('compares exactly two candidates', () => {
    const cmp = (order: 'min' | 'max', filter: object) => ev({ quantity: 'one', ref: { type: 'comparative', filter, order } });
    expect(cmp('max', { color: 'blue' })).toEqual({ referents: [3], problems: [] });
    expect(cmp('min', { color: 'blue' })).toEqual({ referents: [2], problems: [] });
    expect(cmp('max', { color: 'red' }).referents).toEqual([]);
    expect(cmp('max', { color: 'red' }).problems.join()).toMatch(/exactly two/);
  });

  it('finds objects sharing one attribute with the anchor and differing in another', () => {
    const triangle = { type: 'filter', filter: { shape: 'triangle' } } as const;
    expect(ev({ quantity: 'one', ref: { type: 'same', filter: {}, same: 'color', differ: 'shape', anchor: triangle } }).referents).toEqual([3]);
    const bigSquare = { type: 'filter', filter: { size: 'large', shape: 'square' } } as const;
    expect(ev({ quantity: 'one', ref: { type: 'same', filter: {}, same: 'color', differ: 'shape', anchor: bigSquare } }).referents).toEqual([0, 5]);
    const blueCircle = { type: 'filter', filter: { color: 'blue', shape: 'circle' } } as const;
    expect(ev({ quantity: 'one', ref: { type: 'same', filter: {}, same: 'shape', differ: 'color', anchor: blueCircle } }).referents).toEqual([0, 5]);
  });

  it('ignores objects with an empty visible mask', () => {
    const hidden = sceneOf(S.objects.slice(), [0]);
    expect(ev({ quantity: 'one', ref: { type: 'filter', filter: { color: 'red', shape: 'circle' } } }, hidden).referents).toEqual([5]);
  });
});

describe('renderExpression', () => {
  it('renders each reference type with the documented words', () => {
    const blueTriangle = { type: 'filter', filter: { color: 'blue', shape: 'triangle' } } as const;
    const cases: Array<[Expression, string]> = [
      [{ quantity: 'one', ref: { type: 'filter', filter: { size: 'small', color: 'red', shape: 'circle' } } }, 'the small red circle'],
      [{ quantity: 'one', ref: { type: 'filter', filter: { color: 'red' } } }, 'the red shape'],
      [{ quantity: 'one', ref: { type: 'filter', filter: { color: 'blue', corners: 4 } } }, 'the blue shape with four corners'],
      [{ quantity: 'one', ref: { type: 'filter', filter: { corners: 0 } } }, 'the shape with no corners'],
      [{ quantity: 'one', ref: { type: 'relation', filter: { shape: 'square' }, relation: 'left-of', anchor: blueTriangle } }, 'the square left of the blue triangle'],
      [{ quantity: 'all', ref: { type: 'relation', filter: { shape: 'circle' }, relation: 'below', anchor: blueTriangle } }, 'all the circles below the blue triangle'],
      [{ quantity: 'all', ref: { type: 'filter', filter: { color: 'red' } } }, 'all the red shapes'],
      [{ quantity: 'one', ref: { type: 'comparative', filter: { color: 'green' }, order: 'max' } }, 'the larger green shape'],
      [{ quantity: 'one', ref: { type: 'extreme', filter: { shape: 'circle' }, measure: 'x', order: 'min' } }, 'the leftmost circle'],
      [{ quantity: 'one', ref: { type: 'extreme', filter: {}, measure: 'corners', order: 'max' } }, 'the shape with the most corners'],
      [
        { quantity: 'one', ref: { type: 'same', filter: {}, same: 'color', differ: 'shape', anchor: { type: 'filter', filter: { shape: 'triangle' } } } },
        'the shape with the same color as the triangle but a different shape',
      ],
    ];
    for (const [e, text] of cases) expect(renderExpression(e)).toBe(text);
    expect(() => renderExpression({ quantity: 'all', ref: { type: 'comparative', filter: {}, order: 'max' } })).toThrow(/all/);
  });
});
