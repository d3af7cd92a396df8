import { COLORS, SHAPES, SHAPE_CORNERS, type ObjectAttributes } from '../scene/attributes.js';
import type { ObjectSpec } from '../scene/buildScene.js';
import type { AttributeFilter } from '../expression/Expression.js';
import { changeAttribute, drawAttributes, filterOf, randomAttributes, spec, specMatches, type FilterKey } from './specTools.js';
import type { Template } from './Template.js';

/**
 * "the shape with the same color as the triangle but a different shape": the anchor is
 * named by shape (and maybe size); only the anchor and the target have the anchor's colour.
 * A distractor has the target's shape in another colour.
 */
export const sameColorTemplate: Template = (rng, { options, budget }) => {
  const anchor = randomAttributes(rng);
  const aKeys = rng.pickWeighted<readonly FilterKey[]>([['shape'], ['size', 'shape']], (k) => (k.length === 1 ? 2 : 1));
  const aFilter = filterOf(anchor, aKeys);
  const target = changeAttribute(rng, { ...randomAttributes(rng), color: anchor.color, shape: anchor.shape }, 'shape');
  const specs: ObjectSpec[] = [spec(rng, anchor, options), spec(rng, target, options)];
  if (specs.length < budget) specs.push(spec(rng, changeAttribute(rng, { ...target, color: anchor.color }, 'color'), options));
  if (specs.length < budget && aKeys.includes('size') && rng.chance(0.7)) {
    // Same shape as the anchor, other size and colour: the size word is needed.
    specs.push(spec(rng, changeAttribute(rng, changeAttribute(rng, anchor, 'size'), 'color'), options));
  }
  return {
    template: 'same-color',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'same', filter: {}, same: 'color', differ: 'shape', anchor: { type: 'filter', filter: aFilter } } },
    targets: [1],
    fillerExcludes: [aFilter, { color: anchor.color }],
    describeTargets: true,
  };
};

/**
 * "the shape with the same shape as the red circle but a different color": only the anchor
 * and the target have the anchor's shape; distractors share the anchor's or the target's colour.
 */
export const sameShapeTemplate: Template = (rng, { options, budget }) => {
  const anchor = randomAttributes(rng);
  const aFilter = filterOf(anchor, ['color', 'shape']);
  const target = changeAttribute(rng, { ...randomAttributes(rng), shape: anchor.shape, color: anchor.color }, 'color');
  const specs: ObjectSpec[] = [spec(rng, anchor, options), spec(rng, target, options)];
  for (const colorOf of [anchor, target]) {
    if (specs.length >= budget) break;
    specs.push(spec(rng, changeAttribute(rng, { ...randomAttributes(rng), color: colorOf.color, shape: anchor.shape }, 'shape'), options));
  }
  return {
    template: 'same-shape',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'same', filter: {}, same: 'shape', differ: 'color', anchor: { type: 'filter', filter: aFilter } } },
    targets: [1],
    fillerExcludes: [{ shape: anchor.shape }],
    describeTargets: true,
  };
};

/**
 * "the shape with the most corners" / "the red shape with the fewest corners": the target's
 * corner count strictly beats every candidate's. With a colour filter, a decoy of another colour
 * beats the target, so the colour must be read.
 */
export const cornersExtremeTemplate: Template = (rng, { options, budget }) => {
  const order = rng.chance(0.5) ? 'min' : 'max';
  const corners = (a: ObjectAttributes) => SHAPE_CORNERS[a.shape];
  const beats = (x: number, y: number) => (order === 'max' ? x > y : x < y);
  // The target must have some shape it beats.
  const targetShapes = SHAPES.filter((s) => SHAPES.some((t) => beats(SHAPE_CORNERS[s], SHAPE_CORNERS[t])));
  const target: ObjectAttributes = { ...randomAttributes(rng), shape: rng.pick(targetShapes) };
  const withColor = rng.chance(0.5);
  const filter: AttributeFilter = withColor ? { color: target.color } : {};
  const loserShapes = SHAPES.filter((s) => beats(corners(target), SHAPE_CORNERS[s]));
  const specs: ObjectSpec[] = [spec(rng, target, options)];
  const others = Math.min(rng.int(1, 2), budget - 1);
  for (let k = 0; k < others; k++) {
    // Candidates that lose; the first shares the target's colour.
    const color = withColor || k === 0 ? target.color : rng.pick(COLORS);
    specs.push(spec(rng, { ...randomAttributes(rng), color, shape: rng.pick(loserShapes) }, options));
  }
  const winnerShapes = SHAPES.filter((s) => beats(SHAPE_CORNERS[s], corners(target)));
  if (withColor && specs.length < budget && winnerShapes.length > 0) {
    specs.push(spec(rng, { ...changeAttribute(rng, target, 'color'), shape: rng.pick(winnerShapes) }, options));
  }
  return {
    template: 'corners-extreme',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'extreme', filter, measure: 'corners', order } },
    targets: [0],
    fillerExcludes: withColor ? [{ color: target.color }] : [],
    fillerOk: withColor ? undefined : (a) => beats(corners(target), corners(a)),
    describeTargets: true,
  };
};

/**
 * "the shape with four corners" / "the blue shape with no corners": the target is the only
 * (such coloured) object whose shape has that corner count; distractors share its colour, or
 * its shape in another colour.
 */
export const cornerCountTemplate: Template = (rng, { options, budget }) => {
  const target = randomAttributes(rng);
  const withColor = rng.chance(0.5);
  const filter: AttributeFilter = withColor ? { color: target.color, corners: SHAPE_CORNERS[target.shape] } : { corners: SHAPE_CORNERS[target.shape] };
  const specs: ObjectSpec[] = [spec(rng, target, options)];
  const others = Math.min(rng.int(1, 2), budget - 1);
  for (let k = 0; k < others; k++) {
    const d = withColor && k === 0 ? changeAttribute(rng, target, 'color') : changeAttribute(rng, { ...randomAttributes(rng), color: target.color }, 'shape');
    if (specMatches(d, filter)) return null;
    specs.push(spec(rng, d, options));
  }
  return {
    template: 'corner-count',
    specs,
    constraints: [],
    expression: { quantity: 'one', ref: { type: 'filter', filter } },
    targets: [0],
    fillerExcludes: [withColor ? { shape: target.shape, color: target.color } : { shape: target.shape }],
    describeTargets: true,
  };
};
