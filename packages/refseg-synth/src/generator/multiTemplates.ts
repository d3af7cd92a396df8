import { SHAPE_CORNERS, sameAttributes, type ObjectAttributes } from '../scene/attributes.js';
import type { LayoutConstraint, ObjectSpec } from '../scene/buildScene.js';
import type { AttributeFilter } from '../expression/Expression.js';
import { RELATIONS, changeAttribute, drawAttributes, fails, filterOf, holds, randomAttributes, spec, specMatches, type FilterKey } from './specTools.js';
import type { Template } from './Template.js';

type MultiKeys = readonly FilterKey[] | 'corners';
const MULTI_KEYS: ReadonlyArray<{ keys: MultiKeys; weight: number }> = [
  { keys: ['color'], weight: 2 },
  { keys: ['shape'], weight: 2 },
  { keys: ['size', 'color'], weight: 1 },
  { keys: ['size', 'shape'], weight: 1 },
  { keys: 'corners', weight: 1 },
];

/** `k` attribute sets matching `filter`, pairwise different (so each gets its own answer span). */
function distinctMatches(rng: Parameters<typeof randomAttributes>[0], filter: AttributeFilter, base: ObjectAttributes, k: number): ObjectAttributes[] | null {
  const out: ObjectAttributes[] = [];
  for (let i = 0; i < k; i++) {
    const a = drawAttributes(
      rng,
      (x) => specMatches(x, filter) && !out.some((y) => sameAttributes(x, y)),
      () => ({ ...randomAttributes(rng), ...pickDefined(base, filter) }),
    );
    if (a === null) return null;
    out.push(a);
  }
  return out;
}

function pickDefined(base: ObjectAttributes, f: AttributeFilter): Partial<ObjectAttributes> {
  const out: { shape?: ObjectAttributes['shape']; color?: ObjectAttributes['color']; size?: ObjectAttributes['size'] } = {};
  if (f.shape !== undefined || f.corners !== undefined) out.shape = base.shape;
  if (f.color !== undefined) out.color = base.color;
  if (f.size !== undefined) out.size = base.size;
  return out;
}

/**
 * "all the red shapes", "all the shapes with four corners": 2–4 targets match the filter (with
 * pairwise different attributes); a distractor differs from one target in one named attribute.
 */
export const multiFilterTemplate: Template = (rng, { options, budget }) => {
  const { keys } = rng.pickWeighted(MULTI_KEYS, (k) => k.weight);
  const base = randomAttributes(rng);
  const filter: AttributeFilter = keys === 'corners' ? { corners: SHAPE_CORNERS[base.shape] } : filterOf(base, keys);
  const k = Math.min(rng.int(2, 4), budget - 1);
  const targets = distinctMatches(rng, filter, base, k);
  if (targets === null) return null;
  const specs: ObjectSpec[] = targets.map((t) => spec(rng, t, options));
  const source = rng.pick(targets);
  const key: FilterKey = keys === 'corners' ? 'shape' : rng.pick(keys);
  specs.push(spec(rng, changeAttribute(rng, source, key), options));
  return {
    template: 'multi-filter',
    specs,
    constraints: [],
    expression: { quantity: 'all', ref: { type: 'filter', filter } },
    targets: targets.map((_, i) => i),
    fillerExcludes: [filter],
    describeTargets: true,
  };
};

/**
 * "all the circles left of the blue square": 2–3 candidates stand in the relation to the
 * anchor and at least one clearly does not.
 */
export const multiRelationTemplate: Template = (rng, { options, budget }) => {
  if (budget < 4) return null;
  const relation = rng.pick(RELATIONS);
  const base = randomAttributes(rng);
  const tFilter = filterOf(base, rng.pick<readonly FilterKey[]>([['shape'], ['color']]));
  const anchor = drawAttributes(rng, (a) => !specMatches(a, tFilter));
  if (anchor === null) return null;
  const aFilter = filterOf(anchor, ['color', 'shape']);
  const k = Math.min(rng.int(2, 3), budget - 2);
  const all = distinctMatches(rng, tFilter, base, k + 1);
  if (all === null || all.some((a) => specMatches(a, aFilter))) return null;
  const specs: ObjectSpec[] = [spec(rng, anchor, options), ...all.map((a) => spec(rng, a, options))];
  const constraints: LayoutConstraint[] = [];
  for (let i = 1; i <= k; i++) constraints.push(holds(i, 0, relation));
  constraints.push(fails(k + 1, 0, relation));
  return {
    template: 'multi-relation',
    specs,
    constraints,
    expression: { quantity: 'all', ref: { type: 'relation', filter: tFilter, relation, anchor: { type: 'filter', filter: aFilter } } },
    targets: Array.from({ length: k }, (_, i) => i + 1),
    fillerExcludes: [tFilter, aFilter],
    describeTargets: true,
  };
};

