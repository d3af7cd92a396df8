import { ValueError, requireFinite, requireInt, requirePositiveInt } from '@flowseg/core';
import { DEFAULT_BAND_EPSILON, DEFAULT_BAND_KERNEL } from './band/boundaryBand.js';
import { requireChoice, requireInRange, requireOddKernel } from './validation.js';

/**
 * Band threshold of {@link BoundaryAwareRefinement} (beyond the paper, which uses a fixed ε):
 * - `'off'` (default): `B = 1[g > ε]` with the fixed ε — reproduces the paper.
 * - `'relative'`: per mask `B = 1[g > ε · max_{h,w} g]` (ε scaled by the mask's own largest
 *   morphological gradient), so soft, low-contrast masks still get a band. No parameter.
 * - `'learned'`: `B = 1[g > σ(θ)]` with a learnable scalar θ (`epsilon_logit`, initialized
 *   to `logit(ε)`, so training starts from the fixed-ε band). The forward stays hard; θ is
 *   trained through the straight-through surrogate `∂B/∂θ = ∂σ((g − σ(θ))/τ)/∂θ` with
 *   τ = `thresholdTemperature`. The mask logits still get no gradient through B.
 */
export type AdaptiveThreshold = 'off' | 'relative' | 'learned';

/** Every accepted {@link AdaptiveThreshold} value. */
export const ADAPTIVE_THRESHOLDS: readonly AdaptiveThreshold[] = ['off', 'relative', 'learned'];

/**
 * Where {@link BoundaryAwareRefinement} evaluates `f_refine`:
 * - `'band'`: only at the band pixels (and the conv taps they read), through gathers and
 *   2-D matmuls; the band is read back to the CPU once per call to build the indices.
 *   Same result as `'dense'` up to float rounding, at a cost proportional to the band.
 * - `'dense'`: everywhere, with convs, then masked by B. No read-back (better on WebGPU
 *   when the band is large); required by `adaptiveThreshold: 'learned'`, whose surrogate
 *   gradient needs ΔM just outside the band too.
 *
 * On a backend that cannot read tensors synchronously (WebGPU; see
 * `backendReadsSynchronously` in `@flowseg/core`) a `'band'` layer evaluates densely instead:
 * the same ΔM, without the read-back that would fail there. `settings.evaluation` keeps the
 * configured value, so a checkpoint saved on WebGPU still evaluates by band on CPU/wasm.
 */
export type RefineEvaluation = 'band' | 'dense';

/** Configuration of {@link BoundaryAwareRefinement}. Every field is optional. */
export interface BoundaryAwareRefinementConfig {
  /** Channels C of the pixel features `F_pix` (default 256, the decoder width D). */
  featureChannels?: number;
  /** Channels Cc that `f_comp` compresses `F_pix` to (default 32). */
  compChannels?: number;
  /** Hidden channels of `f_refine` (default 32). */
  hiddenChannels?: number;
  /** Kernel side of both `f_refine` convs, odd ≥ 3 (default 3). */
  refineKernelSize?: number;
  /** Band threshold ε on `dilate(p) − erode(p)`, in `[0, 1)`, strict `>` (default 0.1). */
  epsilon?: number;
  /** Side of the band's square structuring element, odd ≥ 3 (default 3). */
  bandKernel?: number;
  /** Adaptive band threshold (default `'off'`). See {@link AdaptiveThreshold}. */
  adaptiveThreshold?: AdaptiveThreshold;
  /** Temperature τ > 0 of the learned threshold's surrogate gradient (default 0.05; `'learned'` only). */
  thresholdTemperature?: number;
  /**
   * Initial value of the learnable scale α (default 0.1): refined logits start within ±0.1
   * of the input, inside the band only, while `f_refine`/`f_comp` get a gradient from the first
   * step. 0 makes BAR an exact identity at initialization (α then grows first).
   */
  alphaInit?: number;
  /**
   * Where `f_refine` is evaluated (default `'band'`, or `'dense'` with a learned threshold;
   * `'band'` falls back to dense on backends without synchronous reads). See {@link RefineEvaluation}.
   */
  evaluation?: RefineEvaluation;
  /** Seed of every weight initialization (default 0). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** A validated {@link BoundaryAwareRefinementConfig} with every default filled in. */
export type ResolvedBarConfig = Required<Omit<BoundaryAwareRefinementConfig, 'name'>>;

/**
 * Validate a config and fill in defaults; throws {@link ValueError} naming the bad field.
 * @internal
 */
export function resolveBarConfig(config: BoundaryAwareRefinementConfig): ResolvedBarConfig {
  const adaptiveThreshold = requireChoice(config.adaptiveThreshold ?? 'off', 'adaptiveThreshold', ADAPTIVE_THRESHOLDS);
  const epsilon = requireInRange(config.epsilon ?? DEFAULT_BAND_EPSILON, 'epsilon', 0, 1);
  if (adaptiveThreshold === 'learned' && epsilon === 0) {
    throw new ValueError(
      "epsilon: must be in (0, 1) with adaptiveThreshold 'learned' (it initializes logit(ε))",
      'epsilon',
    );
  }
  const evaluation = requireChoice(
    config.evaluation ?? (adaptiveThreshold === 'learned' ? 'dense' : 'band'),
    'evaluation',
    ['band', 'dense'] as const,
  );
  if (adaptiveThreshold === 'learned' && evaluation !== 'dense') {
    throw new ValueError(
      "evaluation: adaptiveThreshold 'learned' needs evaluation 'dense' (its surrogate gradient reads ΔM outside the band)",
      'evaluation',
    );
  }
  const thresholdTemperature = config.thresholdTemperature ?? 0.05;
  if (
    !(typeof thresholdTemperature === 'number' && Number.isFinite(thresholdTemperature) && thresholdTemperature > 0)
  ) {
    throw new ValueError(
      `thresholdTemperature: expected a positive number, received ${String(thresholdTemperature)}`,
      'thresholdTemperature',
    );
  }
  return {
    featureChannels: requirePositiveInt(config.featureChannels ?? 256, 'featureChannels'),
    compChannels: requirePositiveInt(config.compChannels ?? 32, 'compChannels'),
    hiddenChannels: requirePositiveInt(config.hiddenChannels ?? 32, 'hiddenChannels'),
    refineKernelSize: requireOddKernel(config.refineKernelSize ?? 3, 'refineKernelSize'),
    epsilon,
    bandKernel: requireOddKernel(config.bandKernel ?? DEFAULT_BAND_KERNEL, 'bandKernel'),
    adaptiveThreshold,
    thresholdTemperature,
    alphaInit: requireFinite(config.alphaInit ?? 0.1, 'alphaInit'),
    evaluation,
    seed: requireInt(config.seed ?? 0, 'seed'),
  };
}

/** Parameter count of a BAR layer, by component. */
export interface BarParameterBreakdown {
  /** `f_comp` (1×1 conv = Linear): `C·Cc + Cc`. */
  readonly fComp: number;
  /** `f_refine` first conv: `k²·(1 + Cc)·hidden + hidden`. */
  readonly fRefineConv1: number;
  /** `f_refine` second conv: `k²·hidden + 1`. */
  readonly fRefineConv2: number;
  /** The scale α: 1. */
  readonly alpha: number;
  /** The learned threshold logit θ: 1 with `adaptiveThreshold: 'learned'`, else 0. */
  readonly epsilonLogit: number;
  /** Sum of the above (equals `countParams()`). */
  readonly total: number;
}

/**
 * Parameter count of a BAR layer from its config alone (no weights are created).
 * Defaults (C = 256, Cc = 32, hidden = 32, k = 3): 8,224 + 9,536 + 289 + 1 = 18,050.
 */
export function barParameterBreakdown(config: BoundaryAwareRefinementConfig = {}): BarParameterBreakdown {
  const c = resolveBarConfig(config);
  const k2 = c.refineKernelSize * c.refineKernelSize;
  const fComp = c.featureChannels * c.compChannels + c.compChannels;
  const fRefineConv1 = k2 * (1 + c.compChannels) * c.hiddenChannels + c.hiddenChannels;
  const fRefineConv2 = k2 * c.hiddenChannels + 1;
  const alpha = 1;
  const epsilonLogit = c.adaptiveThreshold === 'learned' ? 1 : 0;
  return {
    fComp,
    fRefineConv1,
    fRefineConv2,
    alpha,
    epsilonLogit,
    total: fComp + fRefineConv1 + fRefineConv2 + alpha + epsilonLogit,
  };
}
