import type { ShapeName } from './attributes.js';

/** Inner radius of a star's concave corners as a fraction of its tip radius. */
export const STAR_INNER_RATIO = 0.5;

/** Placement of one shape in pixel coordinates (x right, y down; pixel (i, j) covers [i, i+1) × [j, j+1)). */
export interface ShapeGeometry {
  /** Shape drawn. */
  readonly shape: ShapeName;
  /** Centre x in pixels (circumcentre = centroid for every shape here). */
  readonly cx: number;
  /** Centre y in pixels. */
  readonly cy: number;
  /** Circumradius in pixels: distance from the centre to the farthest outline point. */
  readonly radius: number;
  /** Rotation in radians from the canonical pose (point up; square axis-aligned). */
  readonly rotation: number;
}

/** Number of outline vertices and the angle of the first one, per polygonal shape. */
const POLYGON: Readonly<Record<Exclude<ShapeName, 'circle'>, { n: number; start: number }>> = {
  triangle: { n: 3, start: -Math.PI / 2 },
  square: { n: 4, start: -Math.PI / 4 },
  pentagon: { n: 5, start: -Math.PI / 2 },
  hexagon: { n: 6, start: -Math.PI / 2 },
  star: { n: 10, start: -Math.PI / 2 },
};

/**
 * Outline vertices `[x, y]` of a polygonal shape (clockwise on screen), or `null` for a circle.
 * A star alternates tip (radius) and inner (radius · {@link STAR_INNER_RATIO}) vertices.
 */
export function shapeVertices(g: ShapeGeometry): Array<[number, number]> | null {
  if (g.shape === 'circle') return null;
  const { n, start } = POLYGON[g.shape];
  const out: Array<[number, number]> = [];
  for (let k = 0; k < n; k++) {
    const angle = start + g.rotation + (2 * Math.PI * k) / n;
    const r = g.shape === 'star' && k % 2 === 1 ? g.radius * STAR_INNER_RATIO : g.radius;
    out.push([g.cx + r * Math.cos(angle), g.cy + r * Math.sin(angle)]);
  }
  return out;
}

/**
 * Area of a shape with circumradius 1 (area scales with radius²): circle π; regular n-gon
 * (n/2)·sin(2π/n); star with 10 alternating vertices 5·ρ·sin(π/5), ρ = inner ratio.
 */
export function unitShapeArea(shape: ShapeName): number {
  switch (shape) {
    case 'circle':
      return Math.PI;
    case 'star':
      return 5 * STAR_INNER_RATIO * Math.sin(Math.PI / 5);
    default: {
      const n = POLYGON[shape].n;
      return (n / 2) * Math.sin((2 * Math.PI) / n);
    }
  }
}

/** Circumradius that gives a shape the requested area in pixels². */
export function radiusForArea(shape: ShapeName, area: number): number {
  return Math.sqrt(area / unitShapeArea(shape));
}

/**
 * Rasterises one full (unoccluded) shape: a pixel belongs to it when its centre
 * (i + 0.5, j + 0.5) lies inside the outline (crossing-number test for polygons).
 * Calls `visit(index)` with `index = j·width + i` for every covered pixel in the image.
 */
export function rasterizeShape(g: ShapeGeometry, width: number, height: number, visit: (index: number) => void): void {
  const x0 = Math.max(0, Math.floor(g.cx - g.radius));
  const x1 = Math.min(width - 1, Math.ceil(g.cx + g.radius));
  const y0 = Math.max(0, Math.floor(g.cy - g.radius));
  const y1 = Math.min(height - 1, Math.ceil(g.cy + g.radius));
  const vertices = shapeVertices(g);
  const r2 = g.radius * g.radius;
  for (let j = y0; j <= y1; j++) {
    const py = j + 0.5;
    for (let i = x0; i <= x1; i++) {
      const px = i + 0.5;
      const inside = vertices === null ? (px - g.cx) ** 2 + (py - g.cy) ** 2 <= r2 : insidePolygon(vertices, px, py);
      if (inside) visit(j * width + i);
    }
  }
}

function insidePolygon(vertices: ReadonlyArray<readonly [number, number]>, px: number, py: number): boolean {
  let inside = false;
  for (let a = 0, b = vertices.length - 1; a < vertices.length; b = a++) {
    const [xa, ya] = vertices[a]!;
    const [xb, yb] = vertices[b]!;
    if (ya > py !== yb > py && px < ((xb - xa) * (py - ya)) / (yb - ya) + xa) inside = !inside;
  }
  return inside;
}
