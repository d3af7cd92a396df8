import { ValueError } from '../errors/FlowSegError.js';

/** Options of {@link warmupCosineSchedule}. */
export interface WarmupCosineOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  readonly peak: number;
  /** Steps of linear warm-up from 0. */
  readonly warmupSteps: number;
  /** Total steps; the rate decays by a half cosine to `floor` at this step. */
  readonly totalSteps: number;
  /** Final learning rate (default 0). */
  readonly floor?: number;
}

/**
 * Learning rate at `step` (0-based): linear warm-up `peak·(step+1)/warmupSteps`, then a
 * half-cosine decay from `peak` to `floor` over the remaining steps; `floor` after the end.
 */
export function warmupCosineSchedule(step: number, options: WarmupCosineOptions): number {
  const { peak, warmupSteps, totalSteps } = options;
  const floor = options.floor ?? 0;
  // A NaN or infinite rate would reach the optimizer and poison every weight.
  if (!Number.isFinite(step) || step < 0) {
    throw new ValueError(`step: expected a finite number ≥ 0, received ${step}`, 'step');
  }
  if (!(peak > 0) || !Number.isFinite(peak) || !(floor >= 0) || floor > peak) {
    throw new ValueError(`peak/floor: expected 0 ≤ floor ≤ peak, peak > 0; received ${peak}/${floor}`, 'peak');
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || !Number.isInteger(totalSteps) || totalSteps < warmupSteps) {
    throw new ValueError(
      `warmupSteps/totalSteps: expected integers 0 ≤ warmupSteps ≤ totalSteps, received ${warmupSteps}/${totalSteps}`,
      'totalSteps',
    );
  }
  // min: a fractional step just below warmupSteps would otherwise overshoot the peak.
  if (step < warmupSteps) return Math.min(peak, (peak * (step + 1)) / warmupSteps);
  if (step >= totalSteps) return floor;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}
