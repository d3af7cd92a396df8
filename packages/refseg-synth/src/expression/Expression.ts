import type { ColorName, ShapeName, SizeName } from '../scene/attributes.js';

/** Conjunction of attribute tests; an omitted field matches anything. */
export interface AttributeFilter {
  /** Object has this shape. */
  readonly shape?: ShapeName;
  /** Object has this colour. */
  readonly color?: ColorName;
  /** Object has this size class. */
  readonly size?: SizeName;
  /** Object's outline has exactly this many corners (see `SHAPE_CORNERS`). */
  readonly corners?: number;
}

/** Spatial relation between object centres (y grows downward, so "above" means a smaller y). */
export type SpatialRelation = 'left-of' | 'right-of' | 'above' | 'below';

/** Quantity compared by superlatives: centre x, centre y, geometric area, or corner count. */
export type Measure = 'x' | 'y' | 'area' | 'corners';

/** Objects matching a filter: "the small red circle". */
export interface FilterRef {
  /** Discriminator. */
  readonly type: 'filter';
  /** Attributes the referent must have. */
  readonly filter: AttributeFilter;
}

/** Objects matching a filter that stand in a spatial relation to one anchor: "the square left of the blue triangle". */
export interface RelationRef {
  /** Discriminator. */
  readonly type: 'relation';
  /** Attributes the referent must have. */
  readonly filter: AttributeFilter;
  /** Relation of the referent's centre to the anchor's centre. */
  readonly relation: SpatialRelation;
  /** Must resolve to exactly one object, which is never itself a referent. */
  readonly anchor: RefExpr;
}

/** The object matching a filter with the smallest/largest value of a measure: "the leftmost circle". */
export interface ExtremeRef {
  /** Discriminator. */
  readonly type: 'extreme';
  /** Candidates' attributes. */
  readonly filter: AttributeFilter;
  /** What is compared. */
  readonly measure: Measure;
  /** `min` (leftmost, topmost, smallest, fewest corners) or `max`. */
  readonly order: 'min' | 'max';
}

/** The larger/smaller (by area) of exactly two objects matching a filter: "the larger green shape". */
export interface ComparativeRef {
  /** Discriminator. */
  readonly type: 'comparative';
  /** Must match exactly two objects. */
  readonly filter: AttributeFilter;
  /** `max` = larger, `min` = smaller. */
  readonly order: 'min' | 'max';
}

/**
 * Objects (other than the anchor) that share one attribute with the anchor and differ in another:
 * "the shape with the same color as the triangle but a different shape".
 */
export interface SameAsRef {
  /** Discriminator. */
  readonly type: 'same';
  /** Attributes the referent must have (usually none). */
  readonly filter: AttributeFilter;
  /** Attribute equal to the anchor's. */
  readonly same: 'color' | 'shape';
  /** Attribute different from the anchor's. */
  readonly differ: 'color' | 'shape';
  /** Must resolve to exactly one object. */
  readonly anchor: RefExpr;
}

/** Structured form of a referring expression's noun phrase. */
export type RefExpr = FilterRef | RelationRef | ExtremeRef | ComparativeRef | SameAsRef;

/** A complete referring expression: a reference and whether it asks for one object or all. */
export interface Expression {
  /** `one` ("the …"): exactly one referent, or none in the empty split; `all` ("all the …"): every referent. */
  readonly quantity: 'one' | 'all';
  /** What is referred to. */
  readonly ref: RefExpr;
}
