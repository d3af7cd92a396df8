import type { ObjectSpec } from '../scene/buildScene.js';
import { changeAttribute, filterOf, randomAttributes, spec, type FilterKey } from './specTools.js';
import type { Template } from './Template.js';

const ATTRIBUTE_KEYS: ReadonlyArray<{ keys: readonly FilterKey[]; weight: number }> = [
  { keys: ['color', 'shape'], weight: 3 },
  { keys: ['size', 'color', 'shape'], weight: 2 },
  { keys: ['size', 'shape'], weight: 1.5 },
  { keys: ['shape'], weight: 1 },
  { keys: ['color'], weight: 1 },
  { keys: ['size', 'color'], weight: 1 },
];

/**
 * "the small red circle": the target plus, for each named attribute, a distractor equal to the
 * target except in that attribute — so every word of the expression is needed. The first
 * distractor keeps the target's unnamed attributes, hence shares its shape or colour.
 */
export const attributeTemplate: Template = (rng, { options, budget }) => {
  // One distractor per named attribute must fit in the scene.
  const { keys } = rng.pickWeighted(
    ATTRIBUTE_KEYS.filter((k) => k.keys.length < budget),
    (k) => k.weight,
  );
  const target = randomAttributes(rng);
  const filter = filterOf(target, keys);
  const specs: ObjectSpec[] = [spec(rng, target, options)];
  for (const [i, key] of rng.shuffle(keys).entries()) {
    let d = changeAttribute(rng, target, key);
    // Later distractors vary in the attributes the expression does not name.
    if (i > 0) for (const other of (['shape', 'color', 'size'] as const).filter((k) => !keys.includes(k))) if (rng.chance(0.5)) d = changeAttribute(rng, d, other);
    specs.push(spec(rng, d, options));
  }
  return {
    template: 'attribute',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'filter', filter } },
    targets: [0],
    fillerExcludes: [filter],
    describeTargets: false,
  };
};
