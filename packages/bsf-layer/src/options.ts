import { ValueError, requireBoolean, requireFinite } from '@flowseg/core';

/**
 * Which query state CR reads as `Q_s` ("the fused query after self-attention"):
 * - `'ffn'`: the layer's output, after self-attention *and* the FFN (default);
 * - `'self_attn'`: the output of the self-attention block, before the FFN.
 */
export type ConditionRefinementSource = 'ffn' | 'self_attn';

/** Every accepted {@link ConditionRefinementSource}. */
export const CONDITION_REFINEMENT_SOURCES: readonly ConditionRefinementSource[] = ['ffn', 'self_attn'];

/** The BSF switches and knobs, independent of layer sizes (see {@link bsfLayerFactory}). */
export interface BSFLayerOptions {
  /**
   * Semantic refinement (SR: semantic cross-attention + gate), default `true`. When `false`
   * its parameters do not exist.
   */
  semanticRefinement?: boolean;
  /**
   * Condition refinement (CR: conditions attend to the refined queries), default `true`. When
   * `false` its parameters do not exist and the conditions pass through unchanged.
   */
  conditionRefinement?: boolean;
  /** Which query state CR reads (default `'ffn'`). Ignored when CR is off. */
  crSource?: ConditionRefinementSource;
  /** Initial bias of SR's gate (default 2, `σ(2) ≈ 0.88` towards the visual path). */
  gateBiasInit?: number;
}

/** Options of {@link bsfLayerFactory}: the BSF switches plus a seed. */
export interface BSFLayerFactoryOptions extends BSFLayerOptions {
  /**
   * Seed of every layer's initializers (default: unseeded): layer `index` gets
   * `deriveSeed(seed, index)` from `@flowseg/core`.
   */
  seed?: number;
}

/** @internal Options with defaults applied, after validation. */
export interface ResolvedBSFLayerOptions {
  readonly semanticRefinement: boolean;
  readonly conditionRefinement: boolean;
  readonly crSource: ConditionRefinementSource;
  readonly gateBiasInit: number | undefined;
}

function flag(value: unknown, argument: string): boolean {
  return requireBoolean(value ?? true, argument);
}

/** @internal Validate {@link BSFLayerOptions} and apply defaults. */
export function resolveBSFLayerOptions(options: BSFLayerOptions): ResolvedBSFLayerOptions {
  const crSource = options.crSource ?? 'ffn';
  if (!CONDITION_REFINEMENT_SOURCES.includes(crSource)) {
    throw new ValueError(
      `crSource: expected one of ${CONDITION_REFINEMENT_SOURCES.map((s) => `'${s}'`).join(', ')}, received ${String(crSource)}`,
      'crSource',
    );
  }
  const gateBiasInit = options.gateBiasInit === undefined ? undefined : requireFinite(options.gateBiasInit, 'gateBiasInit');
  return {
    semanticRefinement: flag(options.semanticRefinement, 'semanticRefinement'),
    conditionRefinement: flag(options.conditionRefinement, 'conditionRefinement'),
    crSource,
    gateBiasInit,
  };
}
