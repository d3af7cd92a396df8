import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, checkLastAxis, deriveSeed, requireInt, requirePositiveInt, requireRate } from '@flowseg/core';

/** Configuration of {@link LlmProjection}. */
export interface LlmProjectionConfig {
  /** Width of the language model's hidden states (`llmDim`). */
  inFeatures: number;
  /** Decoder width (`channels`). */
  outFeatures: number;
  /** Hidden width (default `inFeatures`, as LISA's `text_hidden_fcs`). */
  hiddenDim?: number;
  /** Dropout on the output in training (default 0, as LISA). */
  dropout?: number;
  /** Seed of the weight initialisation and of dropout (default: unseeded). */
  seed?: number | null;
  /** Layer name. */
  name?: string;
}

/**
 * FlowSeg's `φ_llm`: the LISA-style projection `dropout(linear2(relu(linear1(x))))` from the
 * language model's width to the decoder width, applied to condition and segmentation
 * embeddings alike (`C = φ_llm(C_LLM)`, `S = φ_llm(S_LLM)`). Weights: `linear1.kernel
 * [inFeatures, hiddenDim]`, `linear1.bias`, `linear2.kernel [hiddenDim, outFeatures]`, `linear2.bias`.
 */
export class LlmProjection extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLlmProjection';
  /** Input width (`llmDim`). */
  readonly inFeatures: number;
  /** Output width (`channels`). */
  readonly outFeatures: number;
  /** Hidden width. */
  readonly hiddenDim: number;
  /** Output dropout rate in training. */
  readonly dropout: number;
  /** Initialisation/dropout seed, `null` = unseeded. */
  readonly seed: number | null;
  private linear1!: Linear;
  private linear2!: Linear;
  private dropoutCalls = 0;

  constructor(config: LlmProjectionConfig) {
    super({ name: config.name });
    this.inFeatures = requirePositiveInt(config.inFeatures, 'inFeatures');
    this.outFeatures = requirePositiveInt(config.outFeatures, 'outFeatures');
    this.hiddenDim = requirePositiveInt(config.hiddenDim ?? config.inFeatures, 'hiddenDim');
    this.dropout = requireRate(config.dropout ?? 0, 'dropout');
    this.seed = config.seed == null ? null : requireInt(config.seed, 'seed');
  }

  override build(): void {
    if (this.built) return;
    const seed = this.seed ?? undefined;
    this.linear1 = this.addChild(
      'linear1',
      new Linear({ inFeatures: this.inFeatures, outFeatures: this.hiddenDim, seed: deriveSeed(seed, 0) }),
    );
    this.linear2 = this.addChild(
      'linear2',
      new Linear({ inFeatures: this.hiddenDim, outFeatures: this.outFeatures, seed: deriveSeed(seed, 1) }),
    );
    this.linear1.ensureBuilt();
    this.linear2.ensureBuilt();
    super.build([]);
  }

  /**
   * Project hidden states.
   * @param x - `[..., inFeatures]`.
   * @param training - dropout active.
   * @returns `[..., outFeatures]`.
   * @throws ShapeError naming `x` when its last axis is not `inFeatures` (DTypeError unless float32).
   */
  forward<R extends tf.Rank>(x: tf.Tensor<R>, training = false): tf.Tensor<R> {
    this.ensureBuilt();
    checkLastAxis('x', x, this.inFeatures, 'inFeatures');
    return tf.tidy(() => {
      let y: tf.Tensor = this.linear2.forward(this.linear1.forward(x, 'relu'));
      if (training && this.dropout > 0) {
        const seed = this.seed === null ? undefined : this.seed + 7919 * ++this.dropoutCalls;
        y = tf.dropout(y, this.dropout, undefined, seed);
      }
      return y as tf.Tensor<R>;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return this.forward(Array.isArray(inputs) ? inputs[0]! : inputs, kwargs?.training ?? false);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape.slice(0, -1), this.outFeatures];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      hiddenDim: this.hiddenDim,
      dropout: this.dropout,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(LlmProjection);
