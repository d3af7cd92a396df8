import { attributeTemplate } from './attributeTemplates.js';
import { comparativeTemplate, relationTemplate, superlativeTemplate } from './relationalTemplates.js';
import { cornerCountTemplate, cornersExtremeTemplate, sameColorTemplate, sameShapeTemplate } from './reasoningTemplates.js';
import { multiFilterTemplate, multiRelationTemplate } from './multiTemplates.js';
import { emptyAttributeTemplate, emptyRelationTemplate, emptySameColorTemplate } from './emptyTemplates.js';
import type { Template } from './Template.js';

/**
 * Expression families, each its own split:
 * - `attribute`: "the small red circle";
 * - `relational`: spatial relation, superlative or comparative ("the square left of the blue
 *   triangle", "the leftmost circle", "the larger green shape");
 * - `reasoning`: the target is implied, not named ("the shape with the same color as the
 *   triangle but a different shape", "the shape with the most corners", "the shape with four corners");
 * - `multi`: several targets ("all the red shapes");
 * - `empty`: no target ("the purple star" when there is none).
 */
export const FAMILIES = ['attribute', 'relational', 'reasoning', 'multi', 'empty'] as const;
/** One of {@link FAMILIES}. */
export type Family = (typeof FAMILIES)[number];

/** Templates of each family with their sampling weights. */
export const FAMILY_TEMPLATES: Readonly<Record<Family, ReadonlyArray<{ readonly template: Template; readonly weight: number }>>> = {
  attribute: [{ template: attributeTemplate, weight: 1 }],
  relational: [
    { template: relationTemplate, weight: 5 },
    { template: superlativeTemplate, weight: 3 },
    { template: comparativeTemplate, weight: 2 },
  ],
  reasoning: [
    { template: sameColorTemplate, weight: 25 },
    { template: sameShapeTemplate, weight: 20 },
    { template: cornersExtremeTemplate, weight: 30 },
    { template: cornerCountTemplate, weight: 25 },
  ],
  multi: [
    { template: multiFilterTemplate, weight: 65 },
    { template: multiRelationTemplate, weight: 35 },
  ],
  empty: [
    { template: emptyAttributeTemplate, weight: 55 },
    { template: emptyRelationTemplate, weight: 30 },
    { template: emptySameColorTemplate, weight: 15 },
  ],
};
