import { COLORS, SHAPES, SHAPE_CORNERS, SIZES, type ObjectAttributes, type SizeName } from '../scene/attributes.js';
import type { LayoutConstraint, ObjectSpec } from '../scene/buildScene.js';
import type { AttributeFilter, SpatialRelation } from '../expression/Expression.js';
import type { ResolvedSynthOptions } from '../options.js';
import type { Prng } from '../random/Prng.js';

/** The attribute keys a filter built from an object's attributes may use. */
export type FilterKey = 'shape' | 'color' | 'size';

/** Uniformly random attributes. */
export function randomAttributes(rng: Prng): ObjectAttributes {
  return { shape: rng.pick(SHAPES), color: rng.pick(COLORS), size: rng.pick(SIZES) };
}

/** A value of the attribute `key` different from `attrs[key]`. */
export function changeAttribute(rng: Prng, attrs: ObjectAttributes, key: FilterKey): ObjectAttributes {
  switch (key) {
    case 'shape':
      return { ...attrs, shape: rng.pick(SHAPES.filter((s) => s !== attrs.shape)) };
    case 'color':
      return { ...attrs, color: rng.pick(COLORS.filter((c) => c !== attrs.color)) };
    case 'size':
      return { ...attrs, size: attrs.size === 'small' ? 'large' : 'small' };
  }
}

/** The filter that names `keys` of `attrs`. */
export function filterOf(attrs: ObjectAttributes, keys: readonly FilterKey[]): AttributeFilter {
  const f: { shape?: ObjectAttributes['shape']; color?: ObjectAttributes['color']; size?: SizeName } = {};
  for (const k of keys) (f as Record<FilterKey, string>)[k] = attrs[k];
  return f;
}

/** Generator-side attribute test on a spec (corners through the shape's corner count). */
export function specMatches(s: ObjectAttributes, f: AttributeFilter): boolean {
  if (f.shape !== undefined && s.shape !== f.shape) return false;
  if (f.color !== undefined && s.color !== f.color) return false;
  if (f.size !== undefined && s.size !== f.size) return false;
  if (f.corners !== undefined && SHAPE_CORNERS[s.shape] !== f.corners) return false;
  return true;
}

/** Area range of a size class in pixels². */
export function areaRange(size: SizeName, o: ResolvedSynthOptions): [number, number] {
  const [lo, hi] = size === 'small' ? o.smallArea : o.largeArea;
  return [lo * o.width * o.height, hi * o.width * o.height];
}

/**
 * An area inside the size class and inside `[min, max]` (pixels²), or `null` if they do not
 * intersect.
 */
export function sampleArea(rng: Prng, size: SizeName, o: ResolvedSynthOptions, min = 0, max = Infinity): number | null {
  const [lo, hi] = areaRange(size, o);
  const a = Math.max(lo, min);
  const b = Math.min(hi, max);
  if (a > b) return null;
  return rng.uniform(a, b);
}

/** A spec with an area drawn uniformly from its size class. */
export function spec(rng: Prng, attrs: ObjectAttributes, o: ResolvedSynthOptions): ObjectSpec {
  return { ...attrs, area: sampleArea(rng, attrs.size, o)! };
}

/** Redraws attributes (up to 50 times) until `ok` holds; `null` if it never does. */
export function drawAttributes(rng: Prng, ok: (a: ObjectAttributes) => boolean, base?: () => ObjectAttributes): ObjectAttributes | null {
  for (let t = 0; t < 50; t++) {
    const a = base ? base() : randomAttributes(rng);
    if (ok(a)) return a;
  }
  return null;
}

/** Constraint "spec `a` stands in `relation` to spec `b`", clearly (beyond the position margin). */
export function holds(a: number, b: number, relation: SpatialRelation): LayoutConstraint {
  switch (relation) {
    case 'left-of':
      return { first: a, second: b, axis: 'x' };
    case 'right-of':
      return { first: b, second: a, axis: 'x' };
    case 'above':
      return { first: a, second: b, axis: 'y' };
    case 'below':
      return { first: b, second: a, axis: 'y' };
  }
}

/** Constraint "spec `a` clearly does not stand in `relation` to spec `b`" (it is on the other side). */
export function fails(a: number, b: number, relation: SpatialRelation): LayoutConstraint {
  return holds(b, a, relation);
}

/** All four spatial relations. */
export const RELATIONS: readonly SpatialRelation[] = ['left-of', 'right-of', 'above', 'below'];
