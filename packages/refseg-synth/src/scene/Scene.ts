import type { ObjectAttributes } from './attributes.js';
import type { ShapeGeometry } from './geometry.js';
import type { BackgroundSpec } from './background.js';

/** One object of a scene: its nameable attributes, its geometry and its pixel counts. */
export interface SceneObject extends ObjectAttributes, ShapeGeometry {
  /** Index in {@link Scene.objects}; also the drawing order (higher ids are drawn on top). */
  readonly id: number;
  /** Corners of the outline (see `SHAPE_CORNERS`). */
  readonly corners: number;
  /** Geometric area of the full shape in pixels² (what "larger"/"largest" compare). */
  readonly area: number;
  /** Pixels covered by the full, unoccluded shape. */
  readonly fullPixels: number;
  /** Pixels of the visible instance mask (after objects drawn later occlude it). */
  readonly visiblePixels: number;
}

/** A rendered scene: image, objects and their exact visible instance masks. */
export interface Scene {
  /** Image width in pixels. */
  readonly width: number;
  /** Image height in pixels. */
  readonly height: number;
  /** RGB image `[height, width, 3]`, row-major, one byte per channel. */
  readonly image: Uint8Array;
  /** Objects in drawing order (`objects[k].id === k`). */
  readonly objects: readonly SceneObject[];
  /** Visible instance mask of each object `[height, width]` (1 inside, 0 outside); pairwise disjoint. */
  readonly masks: readonly Uint8Array[];
  /** Instance map `[height, width]`: 0 for background, `id + 1` where object `id` is visible. */
  readonly instanceMap: Uint8Array;
  /** How the background texture was drawn. */
  readonly background: BackgroundSpec;
}
