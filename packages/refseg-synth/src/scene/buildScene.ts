import { COLOR_RGB, SHAPE_CORNERS, type ObjectAttributes } from './attributes.js';
import { radiusForArea, rasterizeShape } from './geometry.js';
import { paintBackground, sampleBackground } from './background.js';
import type { Scene, SceneObject } from './Scene.js';
import type { Prng } from '../random/Prng.js';
import type { ResolvedSynthOptions } from '../options.js';

/** What a template asks the scene builder to place: attributes plus an exact area. */
export interface ObjectSpec extends ObjectAttributes {
  /** Geometric area of the full shape in pixels². */
  readonly area: number;
}

/**
 * A strict ordering of two specs' centres on one axis, with the position margin:
 * `centre(first)[axis] + margin < centre(second)[axis]`.
 */
export interface LayoutConstraint {
  /** Spec index of the object with the smaller coordinate (further left / higher up). */
  readonly first: number;
  /** Spec index of the object with the larger coordinate. */
  readonly second: number;
  /** Compared axis (y grows downward). */
  readonly axis: 'x' | 'y';
}

/** A built scene plus where each spec ended up. */
export interface BuiltScene {
  /** The rendered scene. */
  readonly scene: Scene;
  /** `objectOfSpec[s]` is the object id (drawing order) of spec `s`. */
  readonly objectOfSpec: readonly number[];
}

const LAYOUT_ATTEMPTS = 30;
const POSITION_TRIES = 40;
/** Centres of two objects stay at least this fraction of the sum of their radii apart (limits overlap). */
const MIN_CENTRE_SPACING = 0.45;
/** Same-coloured objects never touch: their circumcircles stay this many pixels apart. */
const SAME_COLOR_GAP = 1.5;

interface Placement {
  cx: number;
  cy: number;
  radius: number;
  rotation: number;
}

/**
 * Places and renders the specs: samples centres that satisfy the layout constraints (with
 * the position margin), keeps same-coloured objects apart, draws a random occlusion order,
 * and accepts the layout only if every object keeps `minVisibleFraction` of its area and
 * `minVisiblePixels` visible. Returns `null` when no layout was found.
 */
export function buildScene(
  specs: readonly ObjectSpec[],
  constraints: readonly LayoutConstraint[],
  rng: Prng,
  options: ResolvedSynthOptions,
): BuiltScene | null {
  const { width, height } = options;
  const margin = options.positionMargin * Math.min(width, height);
  const radii = specs.map((s) => radiusForArea(s.shape, s.area));
  for (let attempt = 0; attempt < LAYOUT_ATTEMPTS; attempt++) {
    const placed = placeAll(specs, radii, constraints, margin, rng, options);
    if (placed === null) continue;
    const order = rng.shuffle(specs.map((_, i) => i));
    const built = render(specs, placed, order, rng, options);
    if (built !== null) return built;
  }
  return null;
}

function placeAll(
  specs: readonly ObjectSpec[],
  radii: readonly number[],
  constraints: readonly LayoutConstraint[],
  margin: number,
  rng: Prng,
  options: ResolvedSynthOptions,
): Placement[] | null {
  const placed: Placement[] = [];
  for (let s = 0; s < specs.length; s++) {
    const r = radii[s]!;
    // Feasible interval per axis from the image bounds and the constraints with placed specs.
    const range = { x: [r + 0.5, options.width - 0.5 - r], y: [r + 0.5, options.height - 0.5 - r] };
    for (const c of constraints) {
      if (c.second === s && c.first < s) range[c.axis][0] = Math.max(range[c.axis][0]!, coord(placed[c.first]!, c.axis) + margin + 0.01);
      if (c.first === s && c.second < s) range[c.axis][1] = Math.min(range[c.axis][1]!, coord(placed[c.second]!, c.axis) - margin - 0.01);
    }
    if (range.x[0]! >= range.x[1]! || range.y[0]! >= range.y[1]!) return null;
    let found: Placement | null = null;
    for (let t = 0; t < POSITION_TRIES && found === null; t++) {
      const cand: Placement = {
        cx: rng.uniform(range.x[0]!, range.x[1]!),
        cy: rng.uniform(range.y[0]!, range.y[1]!),
        radius: r,
        rotation: rng.uniform(-options.rotationJitter, options.rotationJitter),
      };
      const ok = placed.every((p, q) => {
        const d = Math.hypot(p.cx - cand.cx, p.cy - cand.cy);
        if (specs[q]!.color === specs[s]!.color) return d > p.radius + r + SAME_COLOR_GAP;
        return d >= MIN_CENTRE_SPACING * (p.radius + r);
      });
      if (ok) found = cand;
    }
    if (found === null) return null;
    placed.push(found);
  }
  return placed;
}

function coord(p: Placement, axis: 'x' | 'y'): number {
  return axis === 'x' ? p.cx : p.cy;
}

function render(
  specs: readonly ObjectSpec[],
  placed: readonly Placement[],
  order: readonly number[],
  rng: Prng,
  options: ResolvedSynthOptions,
): BuiltScene | null {
  const { width, height } = options;
  const instanceMap = new Uint8Array(width * height);
  const fullPixels: number[] = [];
  for (let z = 0; z < order.length; z++) {
    const s = order[z]!;
    let count = 0;
    rasterizeShape({ shape: specs[s]!.shape, ...placed[s]! }, width, height, (idx) => {
      instanceMap[idx] = z + 1;
      count++;
    });
    fullPixels.push(count);
  }
  const visible = new Array<number>(order.length).fill(0);
  for (let i = 0; i < instanceMap.length; i++) if (instanceMap[i]! > 0) visible[instanceMap[i]! - 1]!++;
  for (let z = 0; z < order.length; z++) {
    if (visible[z]! < options.minVisiblePixels || visible[z]! < options.minVisibleFraction * fullPixels[z]!) return null;
  }
  const background = sampleBackground(rng);
  const image = new Uint8Array(width * height * 3);
  paintBackground(background, width, height, image);
  const masks = order.map(() => new Uint8Array(width * height));
  for (let i = 0; i < instanceMap.length; i++) {
    const z = instanceMap[i]! - 1;
    if (z < 0) continue;
    masks[z]![i] = 1;
    const rgb = COLOR_RGB[specs[order[z]!]!.color];
    image[i * 3] = rgb[0];
    image[i * 3 + 1] = rgb[1];
    image[i * 3 + 2] = rgb[2];
  }
  const objects: SceneObject[] = order.map((s, z) => {
    const spec = specs[s]!;
    const p = placed[s]!;
    return {
      id: z,
      shape: spec.shape,
      color: spec.color,
      size: spec.size,
      corners: SHAPE_CORNERS[spec.shape],
      cx: p.cx,
      cy: p.cy,
      radius: p.radius,
      rotation: p.rotation,
      area: spec.area,
      fullPixels: fullPixels[z]!,
      visiblePixels: visible[z]!,
    };
  });
  const objectOfSpec = new Array<number>(specs.length);
  order.forEach((s, z) => (objectOfSpec[s] = z));
  return { scene: { width, height, image, objects, masks, instanceMap, background }, objectOfSpec };
}
