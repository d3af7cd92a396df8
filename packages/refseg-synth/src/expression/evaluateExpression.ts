import type { Scene, SceneObject } from '../scene/Scene.js';
import { DEFAULT_SYNTH_OPTIONS, comparisonMargins, type ComparisonMargins } from '../options.js';
import type { AttributeFilter, Expression, RefExpr } from './Expression.js';

/** What the evaluator found. */
export interface Evaluation {
  /** Ids of the referred objects, ascending. */
  readonly referents: readonly number[];
  /**
   * Reasons the expression is not cleanly decidable: an anchor that is not unique, a
   * comparative without exactly two candidates, or a comparison that falls within the margins
   * (two centres closer than the position margin, two areas within the area ratio).
   * Empty for a well-posed expression.
   */
  readonly problems: readonly string[];
}

/**
 * Computes an expression's referents in a scene by direct interpretation of its structure.
 *
 * Deliberately independent of the generator (which builds scenes so that a chosen target is
 * the referent): this walks every object, applies the definitions below, and reports any
 * comparison that lies within the margins as a problem.
 * - filter: every object with all the filter's attributes;
 * - relation: objects matching the filter, other than the anchor, whose centre is left of /
 *   right of / above / below the anchor's centre;
 * - extreme: among objects matching the filter, those with the min/max measure;
 * - comparative: of exactly two objects matching the filter, the one with the larger/smaller area;
 * - same: objects other than the anchor, matching the filter, equal to the anchor in one
 *   attribute and different in another.
 * Objects whose visible mask is empty are not in the scene. `margins` defaults to those of
 * the default options; pass `comparisonMargins(resolveOptions(options))` for other options.
 */
export function evaluateExpression(
  scene: Pick<Scene, 'objects' | 'masks'>,
  expression: Expression,
  margins: ComparisonMargins = comparisonMargins(DEFAULT_SYNTH_OPTIONS),
): Evaluation {
  const present = scene.objects.filter((o) => scene.masks[o.id]!.some((v) => v !== 0));
  const problems: string[] = [];
  const referents = resolve(present, expression.ref, margins, problems)
    .map((o) => o.id)
    .sort((a, b) => a - b);
  return { referents, problems };
}

/** Whether an object has every attribute the filter names. */
export function matchesFilter(o: SceneObject, f: AttributeFilter): boolean {
  return (
    (f.shape === undefined || o.shape === f.shape) &&
    (f.color === undefined || o.color === f.color) &&
    (f.size === undefined || o.size === f.size) &&
    (f.corners === undefined || o.corners === f.corners)
  );
}

function resolve(objects: readonly SceneObject[], ref: RefExpr, m: ComparisonMargins, problems: string[]): SceneObject[] {
  switch (ref.type) {
    case 'filter':
      return objects.filter((o) => matchesFilter(o, ref.filter));

    case 'relation': {
      const anchor = uniqueAnchor(objects, ref.anchor, m, problems);
      if (anchor === null) return [];
      const out: SceneObject[] = [];
      for (const o of objects) {
        if (o.id === anchor.id || !matchesFilter(o, ref.filter)) continue;
        // d > 0 means the relation holds.
        let d: number;
        if (ref.relation === 'left-of') d = anchor.cx - o.cx;
        else if (ref.relation === 'right-of') d = o.cx - anchor.cx;
        else if (ref.relation === 'above') d = anchor.cy - o.cy;
        else d = o.cy - anchor.cy;
        if (Math.abs(d) <= m.positionPx) problems.push(`object ${o.id} is within the position margin of anchor ${anchor.id}`);
        if (d > 0) out.push(o);
      }
      return out;
    }

    case 'extreme': {
      const candidates = objects.filter((o) => matchesFilter(o, ref.filter));
      if (candidates.length === 0) return [];
      const value = (o: SceneObject) => (ref.measure === 'x' ? o.cx : ref.measure === 'y' ? o.cy : ref.measure === 'area' ? o.area : o.corners);
      const sign = ref.order === 'max' ? 1 : -1;
      let best = -Infinity;
      for (const o of candidates) best = Math.max(best, sign * value(o));
      const winners = candidates.filter((o) => sign * value(o) === best);
      for (const o of candidates) {
        if (winners.includes(o)) continue;
        const v = value(o);
        const bestValue = sign * best;
        const close =
          ref.measure === 'area'
            ? Math.max(v, bestValue) / Math.min(v, bestValue) <= m.areaRatio
            : ref.measure === 'corners'
              ? false
              : Math.abs(v - bestValue) <= m.positionPx;
        if (close) problems.push(`object ${o.id} is within the margin of the ${ref.order} ${ref.measure}`);
      }
      return winners;
    }

    case 'comparative': {
      const candidates = objects.filter((o) => matchesFilter(o, ref.filter));
      if (candidates.length !== 2) {
        problems.push(`comparative needs exactly two candidates, found ${candidates.length}`);
        return [];
      }
      const [a, b] = candidates as [SceneObject, SceneObject];
      if (Math.max(a.area, b.area) / Math.min(a.area, b.area) <= m.areaRatio) problems.push(`objects ${a.id} and ${b.id} have similar areas`);
      const larger = a.area >= b.area ? a : b;
      const smaller = larger === a ? b : a;
      return [ref.order === 'max' ? larger : smaller];
    }

    case 'same': {
      const anchor = uniqueAnchor(objects, ref.anchor, m, problems);
      if (anchor === null) return [];
      return objects.filter(
        (o) => o.id !== anchor.id && matchesFilter(o, ref.filter) && o[ref.same] === anchor[ref.same] && o[ref.differ] !== anchor[ref.differ],
      );
    }
  }
}

function uniqueAnchor(objects: readonly SceneObject[], ref: RefExpr, m: ComparisonMargins, problems: string[]): SceneObject | null {
  const found = resolve(objects, ref, m, problems);
  if (found.length !== 1) {
    problems.push(`anchor resolves to ${found.length} objects`);
    return null;
  }
  return found[0]!;
}
