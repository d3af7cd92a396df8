/**
 * `@flowseg/bar-head`: Boundary-Aware Refinement (BAR) of mask logits, usable after any mask
 * head: `M_refined = M_raw + α·tanh(f_refine([M_raw ‖ f_comp(F_pix)])) ⊙ B`, where the band
 * `B = 1[dilate(σ(M_raw)) − erode(σ(M_raw)) > ε]` carries no gradient.
 * @packageDocumentation
 * @module @flowseg/bar-head
 */
import '@flowseg/core';

export {
  BoundaryAwareRefinement,
  type BoundaryAwareRefinementInputs,
  type BoundaryAwareRefinementOutputs,
} from './BoundaryAwareRefinement.js';
export {
  barParameterBreakdown,
  ADAPTIVE_THRESHOLDS,
  type AdaptiveThreshold,
  type BarParameterBreakdown,
  type BoundaryAwareRefinementConfig,
  type ResolvedBarConfig,
  type RefineEvaluation,
} from './config.js';
export { buildBandIndices, type BandIndices } from './bandIndices.js';
export { compactFeatureTaps, type CompactFeatureTaps } from './compactFeatureTaps.js';
export { gatherRows, scatterRows } from './gatherRows.js';
export { BoundaryRefineNet, type BoundaryRefineNetConfig, type BoundaryRefineNetInputs } from './BoundaryRefineNet.js';
export {
  boundaryBand,
  morphologicalGradient,
  DEFAULT_BAND_EPSILON,
  DEFAULT_BAND_KERNEL,
  type BoundaryBandOptions,
  type BandThresholdMode,
} from './band/boundaryBand.js';
/**
 * Kept for compatibility: `tanhViaSigmoid` now lives in `@flowseg/core`; import it from there.
 */
export { tanhViaSigmoid } from '@flowseg/core';
