import * as tf from '@tensorflow/tfjs';
import {
  DTypeError,
  FlowSegLayer,
  LayerNorm,
  Linear,
  ShapeError,
  checkShapes,
  deriveSeed,
  requireBoolean,
  sinePositionEncoding2d,
  tidy,
  type ConditionState,
  type DecoderLayerContext,
  type DecoderLayerFactory,
  type TensorSpec,
} from '@flowseg/core';
import {
  NUM_FEATURE_LEVELS,
  resolveDecoderConfig,
  type Mask2FormerDecoderConfig,
  type ResolvedMask2FormerDecoderConfig,
  type SerializedDecoderLayer,
} from '../config/decoderConfig.js';
import { Mask2FormerDecoderLayer } from '../layers/Mask2FormerDecoderLayer.js';
import { MaskEmbeddingMlp } from '../layers/MaskEmbeddingMlp.js';
import { buildDecoderLayers, type DecoderLayerInstance } from './buildDecoderLayers.js';
import { maskedAttentionMask } from './maskedAttentionMask.js';
import type { DecoderInputs, DecoderOutputs, DecoderPrediction } from './decoderTypes.js';

/** Seeds of standard layer `l` derive from index `LAYER_SEED_OFFSET + l` (0–12 are the decoder's own). */
const LAYER_SEED_OFFSET = 100;

/** Per-scale memory prepared once per forward pass. */
interface ScaleMemory {
  memory: tf.Tensor3D;
  memoryPos: tf.Tensor3D;
  size: [number, number];
}

/**
 * Mask2Former's transformer decoder (masked-attention query decoder) with pluggable layers.
 *
 * Per forward pass: learned query features `query_feat` (+ optional `queryOffset`) and query
 * positional embeddings `query_embed`; memory of scale `i` is `input_proj_i(F_i) + level_embed_i`
 * with a sine positional encoding; a prediction from the initial queries, then for layer
 * `l = 0 … L−1`: attend scale `l mod 3` under the mask predicted just before (resized to that
 * scale, `sigmoid < 0.5` blocks, fully-blocked rows unblocked, no gradient), and predict again.
 * Predictions: `decoder_norm` → `class_embed` (K + 1 logits) and `mask_embed` (3-layer MLP)
 * dotted with the per-pixel mask features. L + 1 predictions in all (deep supervision); with
 * `auxOutputs: false` (inference) only the final one, and each attention mask is predicted at
 * its attended scale instead (the same masks, a fraction of the work).
 *
 * Layers come from a `DecoderLayerFactory` (default: standard
 * {@link Mask2FormerDecoderLayer}s), so any implementation of core's `DecoderLayer` — e.g.
 * FlowSeg's BSF layer — can replace them. Layers share one `DecoderLayerContext` state per
 * pass: each sees `layerIndex`, `level`, `training`, the current `conditions` (which it may
 * replace) and `extras`.
 *
 * Weight names (`namedWeights()`): `query_feat.weight [N, D]`, `query_embed.weight [N, D]`,
 * `level_embed.weight [3, D]`, `input_proj.{i}.kernel|bias` (only for projected scales),
 * `layers.{l}.…`, `decoder_norm.weight|bias`, `class_embed.kernel|bias`,
 * `mask_embed.layers.{0,1,2}.kernel|bias`.
 *
 * @example
 * ```ts
 * const decoder = new Mask2FormerDecoder({ numClasses: 1 });
 * const out = decoder.forward({ features: [f32, f16, f8], maskFeatures });
 * out.predMasks; // [batch, 200, H/4, W/4]
 * ```
 */
export class Mask2FormerDecoder extends FlowSegLayer {
  /** @internal */
  static readonly className: string = 'FlowSegMask2FormerDecoder';
  /** The resolved configuration. */
  readonly config: ResolvedMask2FormerDecoderConfig;
  /** The decoder layers, in order. */
  readonly layers: readonly DecoderLayerInstance[];
  /** Whether the layers came from a non-default factory or serialized configs. */
  readonly customLayers: boolean;
  private queryFeat!: tf.LayerVariable;
  private queryEmbed!: tf.LayerVariable;
  private levelEmbed!: tf.LayerVariable;
  private inputProj: Array<Linear | null> = [];
  private decoderNorm!: LayerNorm;
  private classEmbed!: Linear;
  private maskEmbed!: MaskEmbeddingMlp;

  /** @throws ValueError naming the offending config field. */
  constructor(config: Mask2FormerDecoderConfig = {}) {
    super({ name: config.name });
    this.config = resolveDecoderConfig(config);
    const seed = this.config.seed;
    const standard: DecoderLayerFactory = (spec) =>
      new Mask2FormerDecoderLayer({ ...spec, seed: deriveSeed(seed, LAYER_SEED_OFFSET + spec.index) });
    const custom = config.layerFactory !== undefined && config.layerFactory !== Mask2FormerDecoderLayer.factory;
    this.customLayers = config.layerConfigs !== undefined || custom;
    this.layers = buildDecoderLayers(this.config, custom ? config.layerFactory! : standard, config.layerConfigs);
  }

  /** Creates parameters and children (shape-independent). */
  override build(): void {
    if (this.built) return;
    const { numQueries, hiddenDim, numClasses, maskDim, featureChannels, enforceInputProjection, seed } = this.config;
    // nn.Embedding's default init, N(0, 1).
    const normal = (i: number) => tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: deriveSeed(seed, i) });
    this.queryFeat = this.addParam('query_feat.weight', [numQueries, hiddenDim], normal(0));
    this.queryEmbed = this.addParam('query_embed.weight', [numQueries, hiddenDim], normal(1));
    this.levelEmbed = this.addParam('level_embed.weight', [NUM_FEATURE_LEVELS, hiddenDim], normal(2));
    this.inputProj = featureChannels.map((channels, i) => {
      if (channels === hiddenDim && !enforceInputProjection) return null;
      const proj = this.addChild(
        `input_proj.${i}`,
        new Linear({ inFeatures: channels, outFeatures: hiddenDim, seed: deriveSeed(seed, 10 + i) }),
      );
      proj.ensureBuilt();
      return proj;
    });
    this.layers.forEach((layer, i) => {
      this.addChild(`layers.${i}`, layer);
      const buildable = layer as unknown as { ensureBuilt?: () => void };
      if (typeof buildable.ensureBuilt === 'function') buildable.ensureBuilt();
      else if (!layer.built) layer.build([null, numQueries, hiddenDim]);
    });
    this.decoderNorm = this.addChild('decoder_norm', new LayerNorm({ features: hiddenDim }));
    this.classEmbed = this.addChild(
      'class_embed',
      new Linear({ inFeatures: hiddenDim, outFeatures: numClasses + 1, seed: deriveSeed(seed, 3) }),
    );
    this.maskEmbed = this.addChild(
      'mask_embed',
      new MaskEmbeddingMlp({ inputDim: hiddenDim, hiddenDim, outputDim: maskDim, numLayers: 3, seed: deriveSeed(seed, 4) }),
    );
    for (const child of [this.decoderNorm, this.classEmbed, this.maskEmbed]) child.ensureBuilt();
    super.build([]);
  }

  /**
   * Run the decoder. See {@link DecoderInputs} / {@link DecoderOutputs} for shapes.
   * @throws ShapeError / DTypeError naming the offending input.
   */
  forward(inputs: DecoderInputs): DecoderOutputs {
    this.ensureBuilt();
    const { batch, sizes, maskHeight, maskWidth } = this.checkInputs(inputs);
    const { numQueries: n, hiddenDim: d, numLayers } = this.config;
    const withAux = inputs.auxOutputs ?? true;
    return tidy(() => {
      const scales: ScaleMemory[] = inputs.features.map((f, i) => this.scaleMemory(f, i, batch, sizes[i]!));
      let queryFeatures: tf.Tensor3D = tf.expandDims(this.queryFeat.read(), 0);
      if (inputs.queryOffset) queryFeatures = tf.add(queryFeatures, inputs.queryOffset);
      let queries = tf.broadcastTo(queryFeatures, [batch, n, d]) as tf.Tensor3D;
      const queryPos = tf.broadcastTo(tf.expandDims(this.queryEmbed.read(), 0), [batch, n, d]) as tf.Tensor3D;
      // [B, H, W, Dm] → [B, Dm, H·W] once, so every prediction is one plain batched matMul.
      const pixelT = pixelColumns(inputs.maskFeatures);
      // Without deep supervision only the attention masks are needed before the last layer, and
      // only at the attended scales: resize the mask features once per scale instead of every
      // layer's full-resolution logits (bilinear resizing is linear, so the masks are the same).
      const pixelAtScale = withAux
        ? null
        : scales.map(({ size: [h, w] }) =>
            h === maskHeight && w === maskWidth ? pixelT : pixelColumns(tf.image.resizeBilinear(inputs.maskFeatures, [h, w], false, true)),
          );
      const predictions: DecoderPrediction[] = [];
      const attentionMaskAt = (q: tf.Tensor3D, level: number): tf.Tensor3D => {
        const [h, w] = scales[level]!.size;
        if (!pixelAtScale) {
          const { prediction } = this.predict(q, pixelT, maskHeight, maskWidth);
          predictions.push(prediction);
          return maskedAttentionMask(prediction.predMasks, [h, w]);
        }
        return maskedAttentionMask(this.maskLogits(this.decoderNorm.forward(q), pixelAtScale[level]!, h, w), [h, w]);
      };
      let attentionMask = attentionMaskAt(queries, 0);
      const state: { conditions: ConditionState | null; extras: Map<string, tf.Tensor> } = {
        conditions: inputs.conditions ?? null,
        extras: new Map(),
      };
      for (let l = 0; l < numLayers; l++) {
        const level = l % NUM_FEATURE_LEVELS;
        const scale = scales[level]!;
        const context: DecoderLayerContext = {
          layerIndex: l,
          numLayers,
          level,
          training: inputs.training ?? false,
          conditions: state.conditions,
          extras: state.extras,
        };
        queries = this.layers[l]!.forwardLayer(
          { queries, queryPos, memory: scale.memory, memoryPos: scale.memoryPos, attentionMask },
          context,
        );
        state.conditions = context.conditions;
        if (l < numLayers - 1) attentionMask = attentionMaskAt(queries, (l + 1) % NUM_FEATURE_LEVELS);
      }
      const head = this.predict(queries, pixelT, maskHeight, maskWidth);
      return {
        predLogits: head.prediction.predLogits,
        predMasks: head.prediction.predMasks,
        auxOutputs: predictions,
        queries: head.normed,
        conditions: ownedConditions(state.conditions, inputs.conditions ?? null),
      };
    });
  }

  /** Validates inputs; returns the bound sizes. */
  private checkInputs(inputs: DecoderInputs): {
    batch: number;
    sizes: Array<[number, number]>;
    maskHeight: number;
    maskWidth: number;
  } {
    const { featureChannels, maskDim, numQueries, hiddenDim } = this.config;
    const features = inputs.features;
    if (!Array.isArray(features) || features.length !== NUM_FEATURE_LEVELS) {
      throw new ShapeError(
        'features',
        `${NUM_FEATURE_LEVELS} tensors [batch, height_i, width_i, channels_i], coarsest first`,
        [Array.isArray(features) ? features.length : 0],
        `received ${Array.isArray(features) ? features.length : typeof features} entries`,
      );
    }
    const specs: Record<string, TensorSpec> = {};
    features.forEach((tensor, i) => {
      specs[`features[${i}]`] = {
        tensor,
        axes: ['batch', `height${i}`, `width${i}`, { name: 'channels', size: featureChannels[i]! }],
        dtypes: ['float32'],
      };
    });
    specs['maskFeatures'] = {
      tensor: inputs.maskFeatures,
      axes: ['batch', 'maskHeight', 'maskWidth', { name: 'maskDim', size: maskDim }],
      dtypes: ['float32'],
    };
    if (inputs.conditions) {
      specs['conditions.conditions'] = {
        tensor: inputs.conditions.conditions,
        axes: ['batch', 'conditions', 'conditionChannels'],
      };
      specs['conditions.conditionMask'] = { tensor: inputs.conditions.conditionMask, axes: ['batch', 'conditions'] };
    }
    const b = checkShapes(specs);
    // An empty map has no pixels to attend or to predict masks on; refuse it here, naming the
    // argument, rather than deep inside the positional encoding, a resize or a reshape.
    for (const [name, spec] of Object.entries(specs)) {
      if (name.startsWith('features[') || name === 'maskFeatures') {
        const shape = spec.tensor!.shape;
        if (shape[0] === 0 || shape[1] === 0 || shape[2] === 0) {
          // Batch 0 too: several ops infer a -1 axis from the element count, impossible at 0.
          throw new ShapeError(name, '[batch ≥ 1, height ≥ 1, width ≥ 1, channels]', shape, 'the batch or the feature map is empty');
        }
      }
    }
    for (const key of ['training', 'auxOutputs'] as const) if (inputs[key] !== undefined) requireBoolean(inputs[key], key);
    const offset = inputs.queryOffset;
    if (offset) {
      const expected = `[batch=${b['batch']}, 1 | queries=${numQueries}, hidden=${hiddenDim}]`;
      if (offset.rank !== 3) {
        throw new ShapeError('queryOffset', expected, offset.shape, `rank ${offset.rank}, expected rank 3`);
      }
      const [ob, oq, od] = offset.shape;
      if (ob !== b['batch'] || (oq !== 1 && oq !== numQueries) || od !== hiddenDim) {
        throw new ShapeError('queryOffset', expected, offset.shape, 'batch, queries or hidden width disagree');
      }
      if (offset.dtype !== 'float32') throw new DTypeError('queryOffset', ['float32'], offset.dtype);
    }
    return {
      batch: b['batch']!,
      sizes: features.map((_, i) => [b[`height${i}`]!, b[`width${i}`]!] as [number, number]),
      maskHeight: b['maskHeight']!,
      maskWidth: b['maskWidth']!,
    };
  }

  /** Projected, level-embedded, flattened memory of one scale and its positional encoding. */
  private scaleMemory(feature: tf.Tensor4D, level: number, batch: number, size: [number, number]): ScaleMemory {
    const d = this.config.hiddenDim;
    const [h, w] = size;
    const proj = this.inputProj[level];
    const projected = proj ? proj.forward(feature) : feature;
    const levelEmbed = tf.reshape(tf.slice(this.levelEmbed.read(), [level, 0], [1, d]), [1, 1, d]);
    const memory = tf.add(tf.reshape(projected, [batch, h * w, d]), levelEmbed) as tf.Tensor3D;
    const pos = tf.broadcastTo(tf.expandDims(sinePositionEncoding2d(h, w, d), 0), [batch, h * w, d]) as tf.Tensor3D;
    return { memory, memoryPos: pos, size };
  }

  /** Prediction heads on one query state. */
  private predict(
    queries: tf.Tensor3D,
    pixelT: tf.Tensor3D,
    maskHeight: number,
    maskWidth: number,
  ): { prediction: DecoderPrediction; normed: tf.Tensor3D } {
    const normed = this.decoderNorm.forward(queries);
    const predLogits = this.classEmbed.forward(normed);
    return { prediction: { predLogits, predMasks: this.maskLogits(normed, pixelT, maskHeight, maskWidth) }, normed };
  }

  /** Mask logits `M = mask_embed(Q)·F` `[batch, queries, height, width]` from normed queries and `F` `[batch, maskDim, height·width]`. */
  private maskLogits(normed: tf.Tensor3D, pixelT: tf.Tensor3D, height: number, width: number): tf.Tensor4D {
    const [batch, n] = normed.shape;
    // [B, N, Dm] × [B, Dm, H·W]: one plain batched matMul (wasm has no Einsum kernel).
    return tf.reshape(tf.matMul(this.maskEmbed.forward(normed), pixelT), [batch, n, height, width]) as tf.Tensor4D;
  }

  /** Symbolic/array use: inputs `[features0, features1, features2, maskFeatures]`; returns `[predLogits, predMasks]`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor4D[];
    const out = this.forward({ features: list.slice(0, 3), maskFeatures: list[3]!, auxOutputs: false });
    const keep = [out.predLogits, out.predMasks];
    tf.dispose([out.auxOutputs as unknown as tf.TensorContainer, out.queries]);
    return keep;
  }

  /** Shapes of `[predLogits, predMasks]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const shapes = inputShape as tf.Shape[];
    const mask = shapes[3] ?? [null, null, null, null];
    const { numQueries, numClasses } = this.config;
    return [
      [mask[0]!, numQueries, numClasses + 1],
      [mask[0]!, numQueries, mask[1]!, mask[2]!],
    ];
  }

  /** Serializable config; custom layers are stored as `layerConfigs` (class name + config). */
  override getConfig(): tf.serialization.ConfigDict {
    const { seed, featureChannels, ...sizes } = this.config;
    const base: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      ...sizes,
      featureChannels: [...featureChannels],
      ...(seed === undefined ? {} : { seed }),
    };
    if (this.customLayers) {
      const layerConfigs: SerializedDecoderLayer[] = this.layers.map((layer) => ({
        className: layer.getClassName(),
        config: layer.getConfig(),
      }));
      base['layerConfigs'] = layerConfigs as unknown as tf.serialization.ConfigDictArray;
    }
    return base;
  }
}
tf.serialization.registerClass(Mask2FormerDecoder);

/** Mask features `[batch, height, width, maskDim]` as columns `[batch, maskDim, height·width]`. */
function pixelColumns(maskFeatures: tf.Tensor4D): tf.Tensor3D {
  const [batch, h, w, c] = maskFeatures.shape;
  return tf.transpose(tf.reshape(maskFeatures, [batch, h * w, c]), [0, 2, 1]) as tf.Tensor3D;
}

/** Conditions the caller will own: any tensor that is still one of the inputs is cloned. */
function ownedConditions(state: ConditionState | null, input: ConditionState | null): ConditionState | null {
  if (!state) return null;
  const inputs = new Set<tf.Tensor>(input ? [input.conditions, input.conditionMask] : []);
  const own = <T extends tf.Tensor>(t: T): T => (inputs.has(t) ? (tf.clone(t) as T) : t);
  return { conditions: own(state.conditions), conditionMask: own(state.conditionMask) };
}
