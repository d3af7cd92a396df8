/** The shapes a scene object can have. */
export const SHAPES = ['circle', 'triangle', 'square', 'pentagon', 'hexagon', 'star'] as const;
/** One of {@link SHAPES}. */
export type ShapeName = (typeof SHAPES)[number];

/**
 * Corners of each shape's outline, as the "corners" expressions count them. A five-pointed
 * star's outline has 10 corners (5 tips and 5 inner corners); a circle has none.
 */
export const SHAPE_CORNERS: Readonly<Record<ShapeName, number>> = {
  circle: 0,
  triangle: 3,
  square: 4,
  pentagon: 5,
  hexagon: 6,
  star: 10,
};

/** The colours a scene object can have: saturated, well separated, never a background tone. */
export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'cyan'] as const;
/** One of {@link COLORS}. */
export type ColorName = (typeof COLORS)[number];

/**
 * Exact RGB value painted for each colour (objects are flat-filled). Every colour's channel
 * spread (max − min) is ≥ 100 while backgrounds are near-grey (spread ≤ 16), so no background
 * pixel can equal an object colour.
 */
export const COLOR_RGB: Readonly<Record<ColorName, readonly [number, number, number]>> = {
  red: [220, 50, 47],
  green: [46, 160, 67],
  blue: [38, 99, 235],
  yellow: [234, 200, 30],
  purple: [142, 68, 173],
  cyan: [20, 190, 200],
};

/** Size classes; their area ranges are set by the options and separated by a clear gap. */
export const SIZES = ['small', 'large'] as const;
/** One of {@link SIZES}. */
export type SizeName = (typeof SIZES)[number];

/** The three nameable attributes of an object. */
export interface ObjectAttributes {
  /** Shape of the object. */
  readonly shape: ShapeName;
  /** Fill colour of the object. */
  readonly color: ColorName;
  /** Size class of the object. */
  readonly size: SizeName;
}

/** Whether two objects have the same shape, colour and size. */
export function sameAttributes(a: ObjectAttributes, b: ObjectAttributes): boolean {
  return a.shape === b.shape && a.color === b.color && a.size === b.size;
}
