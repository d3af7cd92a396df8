import type { ObjectAttributes, SizeName } from '../scene/attributes.js';
import type { LayoutConstraint, ObjectSpec } from '../scene/buildScene.js';
import type { Measure } from '../expression/Expression.js';
import {
  RELATIONS,
  areaRange,
  changeAttribute,
  drawAttributes,
  fails,
  filterOf,
  holds,
  randomAttributes,
  sampleArea,
  spec,
  specMatches,
  type FilterKey,
} from './specTools.js';
import type { Template } from './Template.js';

const TARGET_KEYS: ReadonlyArray<readonly FilterKey[]> = [['shape'], ['color', 'shape'], ['color'], ['size', 'shape']];
const ANCHOR_KEYS: ReadonlyArray<{ keys: readonly FilterKey[]; weight: number }> = [
  { keys: ['color', 'shape'], weight: 2 },
  { keys: ['shape'], weight: 1 },
];

/**
 * "the square left of the blue triangle": 2–3 objects match the target filter, exactly one
 * of them stands in the relation to the (unique) anchor, the others clearly do not. A decoy
 * sharing one attribute with the anchor has a *different* candidate in that relation, so
 * misreading the anchor gives the wrong object.
 */
export const relationTemplate: Template = (rng, { options, budget }) => {
  const relation = rng.pick(RELATIONS);
  const tKeys = rng.pick(TARGET_KEYS);
  const aKeys = rng.pickWeighted(ANCHOR_KEYS, (k) => k.weight).keys;
  const target = randomAttributes(rng);
  const tFilter = filterOf(target, tKeys);
  const anchor = drawAttributes(rng, (a) => !specMatches(a, tFilter));
  if (anchor === null) return null;
  const aFilter = filterOf(anchor, aKeys);
  if (specMatches(target, aFilter)) return null;
  // Spec 0 is the anchor so it is placed first and the others are placed relative to it.
  const specs: ObjectSpec[] = [spec(rng, anchor, options), spec(rng, target, options)];
  const constraints: LayoutConstraint[] = [holds(1, 0, relation)];
  const others = Math.min(rng.int(1, 2), budget - 2);
  for (let k = 0; k < others; k++) {
    const o = drawAttributes(rng, (a) => !specMatches(a, aFilter), () => ({ ...randomAttributes(rng), ...tFilter }));
    if (o === null) return null;
    constraints.push(fails(specs.length, 0, relation));
    specs.push(spec(rng, o, options));
  }
  if (specs.length < budget && rng.chance(0.7)) {
    const decoy = drawAttributes(
      rng,
      (a) => !specMatches(a, aFilter) && !specMatches(a, tFilter),
      () => changeAttribute(rng, anchor, rng.pick(aKeys.length > 1 ? aKeys : (['color', 'size'] as const))),
    );
    if (decoy !== null) {
      const d = specs.length;
      constraints.push(holds(2, d, relation), fails(1, d, relation));
      specs.push(spec(rng, decoy, options));
    }
  }
  return {
    template: 'relation',
    specs,
    constraints,
    expression: { quantity: 'one', ref: { type: 'relation', filter: tFilter, relation, anchor: { type: 'filter', filter: aFilter } } },
    targets: [1],
    fillerExcludes: [tFilter, aFilter],
    describeTargets: false,
  };
};

/**
 * "the leftmost circle", "the largest red shape": 2–3 candidates match the filter and the
 * target beats every other by more than the margin; a decoy sharing the target's shape or
 * colour (but not matching the filter) beats the target, so the filter must be read.
 */
export const superlativeTemplate: Template = (rng, { options, budget }) => {
  const measure: Measure = rng.pickWeighted(['x', 'y', 'area'] as const, (m) => (m === 'area' ? 1 : 1.5));
  const order = rng.chance(0.5) ? 'min' : 'max';
  const keys = rng.pick<readonly FilterKey[]>(
    measure === 'area' ? [['shape'], ['color'], ['color', 'shape']] : [['shape'], ['color'], ['color', 'shape'], ['size', 'shape']],
  );
  let target = randomAttributes(rng);
  if (measure === 'area') target = { ...target, size: order === 'max' ? 'large' : 'small' };
  const filter = filterOf(target, keys);
  const ratio = options.areaRatioMargin * 1.02;
  const targetSpec = spec(rng, target, options);
  const specs: ObjectSpec[] = [targetSpec];
  const constraints: LayoutConstraint[] = [];
  const axis = measure === 'y' ? 'y' : 'x';
  const beats = (winner: number, loser: number): LayoutConstraint =>
    order === 'min' ? { first: winner, second: loser, axis } : { first: loser, second: winner, axis };
  const others = Math.min(rng.int(1, 2), budget - 1);
  for (let k = 0; k < others; k++) {
    let o: ObjectAttributes = { ...randomAttributes(rng), ...filter };
    let area: number | null;
    if (measure === 'area') {
      // The loser's area differs from the target's by more than the ratio margin.
      const size: SizeName = rng.pick(['small', 'large'] as const);
      o = { ...o, size };
      area = order === 'max' ? sampleArea(rng, size, options, 0, targetSpec.area / ratio) : sampleArea(rng, size, options, targetSpec.area * ratio);
      if (area === null) {
        o = { ...o, size: order === 'max' ? 'small' : 'large' };
        area = sampleArea(rng, o.size, options, order === 'max' ? 0 : targetSpec.area * ratio, order === 'max' ? targetSpec.area / ratio : Infinity);
      }
      if (area === null) return null;
    } else {
      if (filter.size !== undefined) o = { ...o, size: filter.size };
      area = sampleArea(rng, o.size, options)!;
      constraints.push(beats(0, specs.length));
    }
    specs.push({ ...o, area });
  }
  if (specs.length < budget && rng.chance(0.8)) {
    const decoy = drawAttributes(
      rng,
      (a) => !specMatches(a, filter),
      () => changeAttribute(rng, target, rng.pick(keys)),
    );
    if (decoy !== null) {
      if (measure === 'area') {
        // A non-candidate that would win without the filter.
        const [lo, hi] = areaRange(order === 'max' ? 'large' : 'small', options);
        const d = { ...decoy, size: order === 'max' ? ('large' as const) : ('small' as const) };
        const area = order === 'max' ? rng.uniform(Math.max(lo, Math.min(hi, targetSpec.area)), hi) : rng.uniform(lo, Math.min(hi, Math.max(lo, targetSpec.area)));
        specs.push({ ...d, area });
      } else {
        constraints.push(beats(specs.length, 0));
        specs.push(spec(rng, decoy, options));
      }
    }
  }
  return {
    template: 'superlative',
    specs,
    constraints,
    expression: { quantity: 'one', ref: { type: 'extreme', filter, measure, order } },
    targets: [0],
    fillerExcludes: [filter],
    describeTargets: false,
  };
};

/**
 * "the larger green shape": exactly two objects match the filter and their areas differ by
 * more than the ratio margin (half the time both are in the same size class).
 */
export const comparativeTemplate: Template = (rng, { options, budget }) => {
  const keys = rng.pick<readonly FilterKey[]>([['color'], ['shape'], ['color', 'shape']]);
  const order = rng.chance(0.5) ? 'min' : 'max';
  const base = randomAttributes(rng);
  const filter = filterOf(base, keys);
  const ratio = options.areaRatioMargin * 1.02;
  let small: ObjectSpec;
  let large: ObjectSpec;
  const a1 = { ...randomAttributes(rng), ...filter };
  const a2 = { ...randomAttributes(rng), ...filter };
  const size: SizeName = rng.pick(['small', 'large'] as const);
  const [lo, hi] = areaRange(size, options);
  if (rng.chance(0.5) && hi > lo * ratio * 1.05) {
    const sa = rng.uniform(lo, hi / ratio / 1.02);
    small = { ...a1, size, area: sa };
    large = { ...a2, size, area: rng.uniform(sa * ratio, hi) };
  } else {
    small = spec(rng, { ...a1, size: 'small' }, options);
    large = spec(rng, { ...a2, size: 'large' }, options);
  }
  const target = order === 'max' ? large : small;
  const other = order === 'max' ? small : large;
  const specs: ObjectSpec[] = [target, other];
  if (specs.length < budget && rng.chance(0.7)) {
    // A non-candidate sharing an attribute with the target that is larger (smaller) than both.
    const decoy = drawAttributes(rng, (a) => !specMatches(a, filter), () => changeAttribute(rng, target, rng.pick(keys)));
    if (decoy !== null) specs.push(spec(rng, { ...decoy, size: order === 'max' ? 'large' : 'small' }, options));
  }
  return {
    template: 'comparative',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'comparative', filter, order } },
    targets: [0],
    fillerExcludes: [filter],
    describeTargets: false,
  };
};
