import { SynthValueError } from '../errors.js';
import type { AttributeFilter, Expression, Measure, RefExpr, SpatialRelation } from './Expression.js';

/** Number words for corner counts (0 is rendered "no corners"). */
export const CORNER_WORDS: Readonly<Record<number, string>> = { 0: 'no', 3: 'three', 4: 'four', 5: 'five', 6: 'six', 10: 'ten' };

const RELATION_WORDS: Readonly<Record<SpatialRelation, string>> = {
  'left-of': 'left of',
  'right-of': 'right of',
  above: 'above',
  below: 'below',
};

const SUPERLATIVE: Readonly<Record<Exclude<Measure, 'corners'>, Readonly<Record<'min' | 'max', string>>>> = {
  x: { min: 'leftmost', max: 'rightmost' },
  y: { min: 'topmost', max: 'bottommost' },
  area: { min: 'smallest', max: 'largest' },
};

/**
 * Renders a structured expression as English words, e.g. `the small red circle`,
 * `all the circles left of the blue square`, `the red shape with the most corners`.
 * Throws {@link SynthValueError} for a combination the grammar has no words for.
 */
export function renderExpression(expression: Expression): string {
  if (expression.quantity === 'all') {
    const r = expression.ref;
    if (r.type !== 'filter' && r.type !== 'relation') {
      throw new SynthValueError(`"all" is only rendered for filter and relation references, got ${r.type}`, 'expression');
    }
    return `all ${renderRef(r, true)}`;
  }
  return renderRef(expression.ref, false);
}

/** Renders a reference as a definite noun phrase ("the …"). */
export function renderRef(ref: RefExpr, plural = false): string {
  switch (ref.type) {
    case 'filter':
      return `the ${nounPhrase(ref.filter, plural)}`;
    case 'relation':
      return `the ${nounPhrase(ref.filter, plural)} ${RELATION_WORDS[ref.relation]} ${renderRef(ref.anchor)}`;
    case 'extreme':
      if (ref.measure === 'corners') {
        return `the ${nounPhrase(ref.filter, false)} with the ${ref.order === 'max' ? 'most' : 'fewest'} corners`;
      }
      return `the ${SUPERLATIVE[ref.measure][ref.order]} ${nounPhrase(ref.filter, false)}`;
    case 'comparative':
      return `the ${ref.order === 'max' ? 'larger' : 'smaller'} ${nounPhrase(ref.filter, false)}`;
    case 'same':
      return `the ${nounPhrase(ref.filter, false)} with the same ${ref.same} as ${renderRef(ref.anchor)} but a different ${ref.differ}`;
  }
}

/** `[size] [color] (shape | "shape")[s] [with N corners]` without a determiner. */
export function nounPhrase(filter: AttributeFilter, plural: boolean): string {
  const words: string[] = [];
  if (filter.size !== undefined) words.push(filter.size);
  if (filter.color !== undefined) words.push(filter.color);
  words.push((filter.shape ?? 'shape') + (plural ? 's' : ''));
  if (filter.corners !== undefined) {
    const w = CORNER_WORDS[filter.corners];
    if (w === undefined) throw new SynthValueError(`no word for ${filter.corners} corners`, 'filter.corners');
    words.push('with', w, 'corners');
  }
  return words.join(' ');
}
