import { ValueError } from '@flowseg/core';
import type { PhrasePooling } from '@flowseg/llm-condition-adapter';
import type { AdaptiveThreshold } from '@flowseg/bar-head';
import type { ConditionRefinementSource } from '@flowseg/bsf-layer';

/** The paper's ablation rows (Table 3), each one flag more than the previous. */
export type AblationName = 'baseline' | 'sr' | 'sr+cr' | 'full';

/** Every {@link AblationName}, in the paper's order. */
export const ABLATIONS: readonly AblationName[] = ['baseline', 'sr', 'sr+cr', 'full'];

/** Configuration of a {@link FlowSegModel}. Every size is explicit so a checkpoint's config rebuilds it exactly. */
export interface FlowSegConfig {
  /** Input image size the encoders are built for. */
  readonly image: { readonly height: number; readonly width: number };
  /** Segmentation encoder (the paper: SAM-ViT-L; here a small conv net). */
  readonly segmentationEncoder: {
    /** Output channels of each stage (strides 2, 4, 8, 16, …). */
    readonly stageChannels: readonly number[];
    /** Residual blocks per stage. */
    readonly blocksPerStage: readonly number[];
  };
  /** FPN pixel decoder. */
  readonly pixelDecoder: {
    /** Width of the FPN levels (the decoder's feature width). */
    readonly convDim: number;
    /** Width of the per-pixel mask features `F_pix`. */
    readonly maskDim: number;
    /** GroupNorm groups. */
    readonly groups: number;
  };
  /** Vision encoder producing the language model's image tokens (the paper: SigLIP2). */
  readonly visionEncoder: {
    /** Patch side. */
    readonly patchSize: number;
    /** Encoder width. */
    readonly width: number;
    /** Transformer blocks. */
    readonly depth: number;
    /** Attention heads. */
    readonly numHeads: number;
    /** Patch-merger side. */
    readonly mergeSize: number;
  };
  /** Language model (the paper: Qwen-3; here a tiny causal transformer). */
  readonly languageModel: {
    /** `D_llm`. */
    readonly hiddenSize: number;
    /** Transformer blocks. */
    readonly numLayers: number;
    /** Attention heads. */
    readonly numHeads: number;
    /** FFN width. */
    readonly ffnSize: number;
    /** Longest sequence, image + text tokens. */
    readonly maxPositions: number;
    /**
     * Width of a copy head's attention (`CopyHead`: a logit bonus for tokens that followed
     * matching earlier states, starting at 0). Beyond the paper; absent means no copy head.
     */
    readonly copyHeadDim?: number;
    /**
     * Object tokens after the image tokens (`ObjectTokenEncoder`): one token per decoder
     * query from a condition-free decoder pass — its attribute probabilities (the attribute
     * head's), objectness and mask centroid and size — so the language model can read which
     * objects the image holds. Needs `attributeClasses`. Beyond the paper; absent means false.
     */
    readonly objectTokens?: boolean;
  };
  /** `φ_llm` and phrase pooling. */
  readonly adapter: {
    /** Phrase pooling of `C_LLM`. */
    readonly pooling: PhrasePooling;
    /** Hidden width of `φ_llm`. */
    readonly projectionHiddenDim: number;
    /** Separate `φ_llm` for C and S (the paper: shared). */
    readonly separateProjections: boolean;
    /**
     * Add the gated token embeddings to the hidden states the adapter pools (`LexicalSkip`:
     * `H' = H + E(tokens)·W`, `W` starting at 0). Beyond the paper; absent means false.
     */
    readonly lexicalSkip?: boolean;
  };
  /** Mask2Former query decoder. */
  readonly decoder: {
    /** Queries `N` (the paper: 200). */
    readonly numQueries: number;
    /** Layers `L` (the paper: 9). */
    readonly numLayers: number;
    /** Width `D` (the paper: 256). */
    readonly hiddenDim: number;
    /** Heads (the paper: 8). */
    readonly numHeads: number;
    /** FFN width (the paper: 2048). */
    readonly ffnDim: number;
  };
  /** Bidirectional Semantic Flow switches (the ablation). */
  readonly bsf: {
    /** Semantic refinement (SR + gate). */
    readonly semanticRefinement: boolean;
    /** Condition refinement (CR). */
    readonly conditionRefinement: boolean;
    /** Which query state CR reads. */
    readonly crSource: ConditionRefinementSource;
  };
  /** Boundary-Aware Refinement. */
  readonly bar: {
    /** BAR on or off (the ablation's last row). */
    readonly enabled: boolean;
    /** Band threshold ε (the paper: 0.1). */
    readonly epsilon: number;
    /** Band structuring element side. */
    readonly bandKernel: number;
    /** Channels of `f_comp(F_pix)`. */
    readonly compChannels: number;
    /** Hidden channels of `f_refine`. */
    readonly hiddenChannels: number;
    /** Adaptive threshold (beyond the paper; `'off'` reproduces ε = 0.1). */
    readonly adaptiveThreshold: AdaptiveThreshold;
  };
  /** Final-mask selection by similarity of output queries and refined conditions. */
  readonly selection: {
    /** Width of the projections both sides are mapped to before the cosine. */
    readonly projectionDim: number;
    /** Temperature τ of the similarity softmax (scores are `cos / τ`). */
    readonly temperature: number;
    /**
     * Crop side of the candidate region encoder (`CandidateRegionEncoder`: each candidate's
     * output query gets an embedding of an image crop around its mask before selection), a
     * multiple of 4, ≥ 8; absent for none (the paper's selection). Beyond the paper.
     */
    readonly regionCropSize?: number;
    /**
     * Add a `LexicalSelector`: a second score from the mean word embedding of the target's
     * phrase, added to the selector's (projection width `projectionDim`). Beyond the paper;
     * absent means false.
     */
    readonly lexicalSelector?: boolean;
  };
  /**
   * Classes of each object attribute group the segmentor pretraining supervises on the output
   * queries (an {@link AttributeHead}; e.g. `[shapes, colours, sizes]`), or empty for none
   * (class-agnostic, the paper's stage 1). Beyond the paper; training-only. Absent in
   * checkpoints written before it existed, which means empty.
   */
  readonly attributeClasses?: readonly number[];
  /** Seed of every initializer. */
  readonly seed: number;
}

/** Fields of {@link FlowSegConfig} a caller may override (one level deep). */
export type FlowSegConfigOverrides = {
  readonly [K in keyof FlowSegConfig]?: FlowSegConfig[K] extends object ? Partial<FlowSegConfig[K]> : FlowSegConfig[K];
};

const COMMON: Pick<FlowSegConfig, 'adapter' | 'bsf' | 'bar' | 'attributeClasses' | 'seed'> = {
  adapter: { pooling: 'mean', projectionHiddenDim: 128, separateProjections: false },
  bsf: { semanticRefinement: true, conditionRefinement: true, crSource: 'ffn' },
  bar: { enabled: true, epsilon: 0.1, bandKernel: 3, compChannels: 8, hiddenChannels: 16, adaptiveThreshold: 'off' },
  attributeClasses: [],
  seed: 0,
};

/**
 * The `small` preset: trainable from scratch on a 2-core CPU in minutes, for 64×64 scenes
 * (`@flowseg/refseg-synth`). Masks at stride 2 (32×32), 16 queries, 3 decoder layers.
 */
export const SMALL_CONFIG: FlowSegConfig = {
  ...COMMON,
  image: { height: 64, width: 64 },
  segmentationEncoder: { stageChannels: [16, 32, 64, 96], blocksPerStage: [0, 1, 2, 2] },
  pixelDecoder: { convDim: 64, maskDim: 64, groups: 8 },
  visionEncoder: { patchSize: 8, width: 64, depth: 2, numHeads: 4, mergeSize: 2 },
  languageModel: { hiddenSize: 128, numLayers: 2, numHeads: 4, ffnSize: 256, maxPositions: 96 },
  decoder: { numQueries: 16, numLayers: 3, hiddenDim: 64, numHeads: 4, ffnDim: 256 },
  selection: { projectionDim: 64, temperature: 0.07 },
};

/**
 * The paper's decoder-side configuration (N = 200 queries, L = 9 layers, D = 256, 8 heads,
 * FFN 2048) with the built-in small encoders and language model scaled to D = 256 — for cost
 * measurements (`npm run bench`), not for training here. 256×256 images, masks at 128×128.
 */
export const PAPER_CONFIG: FlowSegConfig = {
  ...COMMON,
  image: { height: 256, width: 256 },
  segmentationEncoder: { stageChannels: [64, 128, 256, 256], blocksPerStage: [0, 1, 1, 1] },
  pixelDecoder: { convDim: 256, maskDim: 256, groups: 32 },
  visionEncoder: { patchSize: 16, width: 256, depth: 2, numHeads: 8, mergeSize: 2 },
  languageModel: { hiddenSize: 256, numLayers: 2, numHeads: 8, ffnSize: 1024, maxPositions: 128 },
  adapter: { ...COMMON.adapter, projectionHiddenDim: 256 },
  decoder: { numQueries: 200, numLayers: 9, hiddenDim: 256, numHeads: 8, ffnDim: 2048 },
  bar: { ...COMMON.bar, compChannels: 32, hiddenChannels: 32 },
  selection: { projectionDim: 256, temperature: 0.07 },
};

/** Named presets. */
export const CONFIG_PRESETS = { small: SMALL_CONFIG, paper: PAPER_CONFIG } as const;

/** The switches of one ablation row. */
export function ablationSwitches(name: AblationName): { sr: boolean; cr: boolean; bar: boolean } {
  switch (name) {
    case 'baseline':
      return { sr: false, cr: false, bar: false };
    case 'sr':
      return { sr: true, cr: false, bar: false };
    case 'sr+cr':
      return { sr: true, cr: true, bar: false };
    case 'full':
      return { sr: true, cr: true, bar: true };
    default:
      throw new ValueError(`ablation: expected one of ${ABLATIONS.join(', ')}, received ${JSON.stringify(name)}`, 'ablation');
  }
}

/** `config` with the switches of an ablation row. */
export function withAblation(config: FlowSegConfig, name: AblationName): FlowSegConfig {
  const s = ablationSwitches(name);
  return {
    ...config,
    bsf: { ...config.bsf, semanticRefinement: s.sr, conditionRefinement: s.cr },
    bar: { ...config.bar, enabled: s.bar },
  };
}

/** Which ablation row a config is, or `null` when its switches match none. */
export function ablationOf(config: FlowSegConfig): AblationName | null {
  for (const name of ABLATIONS) {
    const s = ablationSwitches(name);
    if (config.bsf.semanticRefinement === s.sr && config.bsf.conditionRefinement === s.cr && config.bar.enabled === s.bar) {
      return name;
    }
  }
  return null;
}
