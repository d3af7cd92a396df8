/** A layout conversion without parameters. */
export interface PlainHuggingFaceTransform {
  /**
   * `copy`: same layout (embeddings, LayerNorm, biases); `linear`: PyTorch `nn.Linear.weight
   * [out, in]`, transposed into our `kernel [in, out]`; `conv1x1`: `nn.Conv2d.weight
   * [out, in, 1, 1]`, reshaped and transposed into `[in, out]`.
   */
  readonly kind: 'copy' | 'linear' | 'conv1x1';
}

/** One third of `nn.MultiheadAttention`'s fused input projection. */
export interface InProjHuggingFaceTransform {
  /** `inProjWeight`: rows of `in_proj_weight [3·D, D]`, transposed; `inProjBias`: entries of `in_proj_bias [3·D]`. */
  readonly kind: 'inProjWeight' | 'inProjBias';
  /** Which third: 0 = q, 1 = k, 2 = v. */
  readonly part: 0 | 1 | 2;
}

/** How one of our weights is read from a Hugging Face `Mask2FormerForUniversalSegmentation` state dict. */
export type HuggingFaceTransform = PlainHuggingFaceTransform | InProjHuggingFaceTransform;

/** Where one of our weights comes from. */
export interface HuggingFaceSource {
  /** Full Hugging Face state-dict key. */
  readonly key: string;
  /** Layout conversion. */
  readonly transform: HuggingFaceTransform;
}

/** Key prefixes of a Hugging Face checkpoint. */
export interface HuggingFaceKeyPrefixes {
  /** Prefix of the transformer module (default `'model.transformer_module.'`). */
  readonly modulePrefix?: string;
  /** Prefix of the class head (default `'class_predictor.'`, top level of `…ForUniversalSegmentation`). */
  readonly classPredictorPrefix?: string;
}

/** Sizes the key map depends on. */
export interface HuggingFaceKeyMapSizes {
  /** Decoder layers. */
  readonly numLayers: number;
  /** Scales that have an input projection. */
  readonly projectedLevels: readonly number[];
  /** Linear layers of the mask-embedding MLP (3). */
  readonly maskEmbedLayers: number;
}

const COPY = { kind: 'copy' } as const;
const LINEAR = { kind: 'linear' } as const;

/**
 * Our weight name → its Hugging Face source, for the standard decoder layout (layers whose
 * children are `cross_attn`, `self_attn`, `ffn` like `Mask2FormerDecoderLayer`).
 *
 * | ours | Hugging Face (`model.transformer_module.` omitted) |
 * | --- | --- |
 * | `query_feat.weight` | `queries_features.weight` |
 * | `query_embed.weight` | `queries_embedder.weight` |
 * | `level_embed.weight` | `level_embed.weight` |
 * | `input_proj.{i}.kernel\|bias` | `input_projections.{i}.weight\|bias` (1×1 conv) |
 * | `layers.{l}.cross_attn.multihead_attn.{q,k,v}_proj.*` | `decoder.layers.{l}.cross_attn.in_proj_weight\|in_proj_bias` (thirds) |
 * | `layers.{l}.cross_attn.multihead_attn.out_proj.*` | `decoder.layers.{l}.cross_attn.out_proj.*` |
 * | `layers.{l}.cross_attn.norm.*` | `decoder.layers.{l}.cross_attn_layer_norm.*` |
 * | `layers.{l}.self_attn.self_attn.{q,k,v,out}_proj.*` | `decoder.layers.{l}.self_attn.{q,k,v,out}_proj.*` |
 * | `layers.{l}.self_attn.norm.*` | `decoder.layers.{l}.self_attn_layer_norm.*` |
 * | `layers.{l}.ffn.ffn.linear1.*`, `…linear2.*` | `decoder.layers.{l}.fc1.*`, `…fc2.*` |
 * | `layers.{l}.ffn.norm.*` | `decoder.layers.{l}.final_layer_norm.*` |
 * | `decoder_norm.*` | `decoder.layernorm.*` |
 * | `mask_embed.layers.{j}.*` | `decoder.mask_predictor.mask_embedder.{j}.0.*` |
 * | `class_embed.*` | `class_predictor.*` (no module prefix) |
 */
export function huggingFaceKeyMap(
  sizes: HuggingFaceKeyMapSizes,
  prefixes: HuggingFaceKeyPrefixes = {},
): Map<string, HuggingFaceSource> {
  const mod = prefixes.modulePrefix ?? 'model.transformer_module.';
  const cls = prefixes.classPredictorPrefix ?? 'class_predictor.';
  const map = new Map<string, HuggingFaceSource>();
  const linear = (ours: string, theirs: string) => {
    map.set(`${ours}.kernel`, { key: `${theirs}.weight`, transform: LINEAR });
    map.set(`${ours}.bias`, { key: `${theirs}.bias`, transform: COPY });
  };
  const norm = (ours: string, theirs: string) => {
    map.set(`${ours}.weight`, { key: `${theirs}.weight`, transform: COPY });
    map.set(`${ours}.bias`, { key: `${theirs}.bias`, transform: COPY });
  };
  map.set('query_feat.weight', { key: `${mod}queries_features.weight`, transform: COPY });
  map.set('query_embed.weight', { key: `${mod}queries_embedder.weight`, transform: COPY });
  map.set('level_embed.weight', { key: `${mod}level_embed.weight`, transform: COPY });
  for (const i of sizes.projectedLevels) {
    map.set(`input_proj.${i}.kernel`, { key: `${mod}input_projections.${i}.weight`, transform: { kind: 'conv1x1' } });
    map.set(`input_proj.${i}.bias`, { key: `${mod}input_projections.${i}.bias`, transform: COPY });
  }
  for (let l = 0; l < sizes.numLayers; l++) {
    const ours = `layers.${l}`;
    const theirs = `${mod}decoder.layers.${l}`;
    (['q', 'k', 'v'] as const).forEach((p, part) => {
      const q = part as 0 | 1 | 2;
      map.set(`${ours}.cross_attn.multihead_attn.${p}_proj.kernel`, {
        key: `${theirs}.cross_attn.in_proj_weight`,
        transform: { kind: 'inProjWeight', part: q },
      });
      map.set(`${ours}.cross_attn.multihead_attn.${p}_proj.bias`, {
        key: `${theirs}.cross_attn.in_proj_bias`,
        transform: { kind: 'inProjBias', part: q },
      });
    });
    linear(`${ours}.cross_attn.multihead_attn.out_proj`, `${theirs}.cross_attn.out_proj`);
    norm(`${ours}.cross_attn.norm`, `${theirs}.cross_attn_layer_norm`);
    for (const p of ['q', 'k', 'v', 'out']) linear(`${ours}.self_attn.self_attn.${p}_proj`, `${theirs}.self_attn.${p}_proj`);
    norm(`${ours}.self_attn.norm`, `${theirs}.self_attn_layer_norm`);
    linear(`${ours}.ffn.ffn.linear1`, `${theirs}.fc1`);
    linear(`${ours}.ffn.ffn.linear2`, `${theirs}.fc2`);
    norm(`${ours}.ffn.norm`, `${theirs}.final_layer_norm`);
  }
  norm('decoder_norm', `${mod}decoder.layernorm`);
  for (let j = 0; j < sizes.maskEmbedLayers; j++) {
    linear(`mask_embed.layers.${j}`, `${mod}decoder.mask_predictor.mask_embedder.${j}.0`);
  }
  linear('class_embed', cls.replace(/\.$/, ''));
  return map;
}
