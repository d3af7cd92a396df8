import { ValueError } from '@flowseg/core';
import { sampleIoU, type MaskOverlap } from './maskIoU.js';

/** Dataset-level referring-segmentation metrics (DESIGN.md §1). */
export interface SegmentationMetrics {
  /** Cumulative IoU: Σ intersections / Σ unions over the dataset (1 when every union is 0). */
  readonly cIoU: number;
  /** Mean of per-sample IoU (empty target + empty prediction = 1). */
  readonly gIoU: number;
  /** Number of samples. */
  readonly count: number;
}

/** cIoU and gIoU of a list of per-sample overlaps. */
export function segmentationMetrics(samples: readonly MaskOverlap[]): SegmentationMetrics {
  let inter = 0;
  let union = 0;
  let iouSum = 0;
  for (const s of samples) {
    inter += s.intersection;
    union += s.union;
    iouSum += sampleIoU(s);
  }
  return {
    cIoU: union === 0 ? 1 : inter / union,
    gIoU: samples.length === 0 ? 0 : iouSum / samples.length,
    count: samples.length,
  };
}

/**
 * Oracle cIoU: for every sample the candidate with the best IoU is taken (selection
 * bypassed), then overlaps are accumulated as for cIoU. The upper bound the paper uses to
 * separate candidate generation from selection.
 *
 * @param candidates - per sample, the overlap of every candidate mask with the target.
 */
export function oracleCIoU(candidates: readonly (readonly MaskOverlap[])[]): number {
  let inter = 0;
  let union = 0;
  candidates.forEach((list, i) => {
    if (list.length === 0) throw new ValueError(`candidates[${i}]: expected at least one candidate`, 'candidates');
    let best = list[0]!;
    for (const c of list) if (sampleIoU(c) > sampleIoU(best)) best = c;
    inter += best.intersection;
    union += best.union;
  });
  return union === 0 ? 1 : inter / union;
}

/** Failure-rescue figures on the samples a baseline got wrong (the paper's Table 6 analysis). */
export interface FailureRescue {
  /** Baseline IoU threshold defining the failure subset (IoU < threshold). */
  readonly threshold: number;
  /** Size of the failure subset. */
  readonly count: number;
  /** Mean baseline IoU on the subset. */
  readonly meanIoUBefore: number;
  /** Mean IoU of the compared model on the same samples. */
  readonly meanIoUAfter: number;
  /** Fraction of the subset the compared model gets right (IoU ≥ 0.5). */
  readonly rescueRate: number;
}

/**
 * Failure rescue of `model` against `baseline` (per-sample IoUs of the same samples, same
 * order): the subset where the baseline's IoU < `threshold`, its mean IoU before and after,
 * and the fraction rescued (model IoU ≥ 0.5).
 */
export function failureRescue(baseline: readonly number[], model: readonly number[], threshold: number): FailureRescue {
  if (baseline.length !== model.length) {
    throw new ValueError(`model: expected ${baseline.length} IoUs (one per baseline sample), received ${model.length}`, 'model');
  }
  let count = 0;
  let before = 0;
  let after = 0;
  let rescued = 0;
  baseline.forEach((b, i) => {
    if (b >= threshold) return;
    const m = model[i]!;
    count++;
    before += b;
    after += m;
    if (m >= 0.5) rescued++;
  });
  return {
    threshold,
    count,
    meanIoUBefore: count === 0 ? 0 : before / count,
    meanIoUAfter: count === 0 ? 0 : after / count,
    rescueRate: count === 0 ? 0 : rescued / count,
  };
}
