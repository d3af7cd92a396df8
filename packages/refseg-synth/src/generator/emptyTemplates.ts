import type { LayoutConstraint, ObjectSpec } from '../scene/buildScene.js';
import { RELATIONS, changeAttribute, drawAttributes, fails, filterOf, holds, randomAttributes, spec, specMatches, type FilterKey } from './specTools.js';
import type { Template } from './Template.js';

/**
 * "the purple star" (or "all the purple stars") when there is none: for every named attribute
 * an object matches all the other named attributes (a purple shape, a star), so only reading
 * the whole phrase reveals that nothing matches.
 */
export const emptyAttributeTemplate: Template = (rng, { options, budget }) => {
  const keys = rng.pickWeighted<readonly FilterKey[]>([['color', 'shape'], ['size', 'color', 'shape'], ['size', 'shape']], (k) =>
    k.length === 2 && k[0] === 'color' ? 3 : 1,
  );
  const absent = randomAttributes(rng);
  const filter = filterOf(absent, keys);
  const specs: ObjectSpec[] = [];
  for (const key of rng.shuffle(keys)) {
    if (specs.length >= budget) break;
    specs.push(spec(rng, changeAttribute(rng, absent, key), options));
  }
  return {
    template: 'empty-attribute',
    specs,
    constraints: [],
    expression: { quantity: rng.chance(1 / 3) ? 'all' : 'one', ref: { type: 'filter', filter } },
    targets: [],
    fillerExcludes: [filter],
    describeTargets: false,
  };
};

/**
 * "the circle left of the blue square" when every circle is clearly on the other side; a
 * decoy sharing one attribute with the anchor does have a circle in that relation.
 */
export const emptyRelationTemplate: Template = (rng, { options, budget }) => {
  const relation = rng.pick(RELATIONS);
  const base = randomAttributes(rng);
  const tFilter = filterOf(base, rng.pick<readonly FilterKey[]>([['shape'], ['color', 'shape']]));
  const anchor = drawAttributes(rng, (a) => !specMatches(a, tFilter));
  if (anchor === null) return null;
  const aFilter = filterOf(anchor, ['color', 'shape']);
  const specs: ObjectSpec[] = [spec(rng, anchor, options)];
  const constraints: LayoutConstraint[] = [];
  const k = Math.min(rng.int(1, 2), budget - 1);
  for (let i = 0; i < k; i++) {
    const c = drawAttributes(rng, (a) => !specMatches(a, aFilter), () => ({ ...randomAttributes(rng), ...tFilter }));
    if (c === null) return null;
    constraints.push(fails(specs.length, 0, relation));
    specs.push(spec(rng, c, options));
  }
  if (specs.length < budget) {
    const decoy = drawAttributes(
      rng,
      (a) => !specMatches(a, aFilter) && !specMatches(a, tFilter),
      () => changeAttribute(rng, anchor, rng.pick(['color', 'shape'] as const)),
    );
    if (decoy !== null) {
      constraints.push(holds(1, specs.length, relation));
      specs.push(spec(rng, decoy, options));
    }
  }
  return {
    template: 'empty-relation',
    specs,
    constraints,
    expression: { quantity: 'one', ref: { type: 'relation', filter: tFilter, relation, anchor: { type: 'filter', filter: aFilter } } },
    targets: [],
    fillerExcludes: [tFilter, aFilter],
    describeTargets: false,
  };
};

/**
 * "the shape with the same color as the triangle but a different shape" when no other object
 * has the triangle's colour (objects of the target-less colour's shape exist in other colours).
 */
export const emptySameColorTemplate: Template = (rng, { options, budget }) => {
  const anchor = randomAttributes(rng);
  const aFilter = filterOf(anchor, ['shape']);
  const specs: ObjectSpec[] = [spec(rng, anchor, options)];
  if (specs.length < budget) specs.push(spec(rng, changeAttribute(rng, changeAttribute(rng, anchor, 'shape'), 'color'), options));
  return {
    template: 'empty-same-color',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'same', filter: {}, same: 'color', differ: 'shape', anchor: { type: 'filter', filter: aFilter } } },
    targets: [],
    fillerExcludes: [aFilter, { color: anchor.color }],
    describeTargets: false,
  };
};
