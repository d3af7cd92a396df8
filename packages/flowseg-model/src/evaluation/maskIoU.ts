import { ValueError } from '@flowseg/core';

/** Intersection and union pixel counts of one predicted mask against its target. */
export interface MaskOverlap {
  /** Pixels set in both masks. */
  readonly intersection: number;
  /** Pixels set in either mask. */
  readonly union: number;
}

/**
 * Count intersection and union of two binary masks of the same size (any non-zero value is
 * "set"; typically `Uint8Array` 0/1 or 0/255, row-major `height·width`).
 */
export function maskOverlap(prediction: ArrayLike<number>, target: ArrayLike<number>): MaskOverlap {
  if (prediction.length !== target.length) {
    throw new ValueError(
      `prediction: expected ${target.length} pixels (the target's), received ${prediction.length}`,
      'prediction',
    );
  }
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < target.length; i++) {
    const p = prediction[i] !== 0;
    const t = target[i] !== 0;
    if (p && t) intersection++;
    if (p || t) union++;
  }
  return { intersection, union };
}

/**
 * IoU of one sample. An empty prediction for an empty target scores 1 (gRefCOCO's
 * convention, so "no object matches" answered correctly counts as a hit); anything predicted
 * for an empty target scores 0.
 */
export function sampleIoU(overlap: MaskOverlap): number {
  return overlap.union === 0 ? 1 : overlap.intersection / overlap.union;
}
