// Straightforward re-derivations of the shapes, written without the package's geometry code:
// regular polygons by the apothem (half-plane) test, the star by a winding number, the circle
// by distance. Used to check the generator's rasteriser and occlusion order.
import type { SceneObject } from '../../src/index.js';

const SIDES: Record<string, number> = { triangle: 3, square: 4, pentagon: 5, hexagon: 6 };

/** Whether point (px, py) is inside object o's full outline. */
export function insideIndependent(o: Pick<SceneObject, 'shape' | 'cx' | 'cy' | 'radius' | 'rotation'>, px: number, py: number): boolean {
  const dx = px - o.cx;
  const dy = py - o.cy;
  if (o.shape === 'circle') return Math.sqrt(dx * dx + dy * dy) <= o.radius;
  if (o.shape === 'star') return starWinding(o, px, py) !== 0;
  const n = SIDES[o.shape]!;
  // First vertex straight up (square: rotated by half a side so it is axis-aligned at rotation 0).
  const first = (o.shape === 'square' ? -Math.PI / 4 : -Math.PI / 2) + o.rotation;
  const apothem = o.radius * Math.cos(Math.PI / n);
  for (let k = 0; k < n; k++) {
    const normal = first + (2 * Math.PI * k) / n + Math.PI / n;
    if (dx * Math.cos(normal) + dy * Math.sin(normal) > apothem) return false;
  }
  return true;
}

function starWinding(o: Pick<SceneObject, 'cx' | 'cy' | 'radius' | 'rotation'>, px: number, py: number): number {
  const pts: Array<[number, number]> = [];
  for (let k = 0; k < 10; k++) {
    const a = -Math.PI / 2 + o.rotation + (k * Math.PI) / 5;
    const r = k % 2 === 0 ? o.radius : o.radius * 0.5;
    pts.push([o.cx + r * Math.cos(a), o.cy + r * Math.sin(a)]);
  }
  let w = 0;
  for (let k = 0; k < 10; k++) {
    const [x1, y1] = pts[k]!;
    const [x2, y2] = pts[(k + 1) % 10]!;
    const cross = (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1);
    if (y1 <= py && y2 > py && cross > 0) w++;
    else if (y1 > py && y2 <= py && cross < 0) w--;
  }
  return w;
}

/** Full mask of an object by the independent test. */
export function fullMaskIndependent(o: Pick<SceneObject, 'shape' | 'cx' | 'cy' | 'radius' | 'rotation'>, width: number, height: number): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let j = 0; j < height; j++) for (let i = 0; i < width; i++) if (insideIndependent(o, i + 0.5, j + 0.5)) m[j * width + i] = 1;
  return m;
}

/** Shoelace area of the independent outline (π r² for circles). */
export function areaIndependent(shape: string, r: number): number {
  if (shape === 'circle') return Math.PI * r * r;
  if (shape === 'star') {
    // Ten triangles centre–tip–inner corner, each ½·r·(r/2)·sin(36°).
    return 10 * 0.5 * r * (r / 2) * Math.sin(Math.PI / 5);
  }
  const n = SIDES[shape]!;
  return n * 0.5 * r * r * Math.sin((2 * Math.PI) / n);
}

/** Outline length, used to bound rasterisation error. */
export function perimeterIndependent(shape: string, r: number): number {
  if (shape === 'circle') return 2 * Math.PI * r;
  if (shape === 'star') {
    const edge = Math.sqrt(r * r + (r / 2) ** 2 - 2 * r * (r / 2) * Math.cos(Math.PI / 5));
    return 10 * edge;
  }
  const n = SIDES[shape]!;
  return n * 2 * r * Math.sin(Math.PI / n);
}
