import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, deriveSeed } from '@flowseg/core';

/** Configuration of {@link AttributeHead}. */
export interface AttributeHeadConfig {
  /** Width of the output queries (`channels`). */
  hiddenDim: number;
  /** Number of classes of each attribute group (e.g. `[shapes, colours, sizes]`), each ≥ 2. */
  classes: readonly number[];
  /** Initializer seed. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Training-only head that predicts, from each output query `Q_out`, the attributes of the
 * object it segments: one linear classifier per attribute group (`logits_g = Q_out·W_g + b_g`).
 *
 * Why it exists: segmentor pretraining on class-agnostic masks gives queries no reason to
 * encode what their object looks like, yet the final selection `cos(W_q Q_out, W_c c)` can only
 * pick the object a phrase names if they do. The paper's segmentors start from semantically
 * pretrained weights; supervising attributes during stage 1 stands in for that (measured in
 * docs/results.md). Inference never runs it. Weights: `group_<g>.kernel`, `group_<g>.bias`.
 */
export class AttributeHead extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegAttributeHead';
  /** Query width. */
  readonly hiddenDim: number;
  /** Classes per attribute group. */
  readonly classes: readonly number[];
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private groups: Linear[] = [];

  constructor(config: AttributeHeadConfig) {
    super({ name: config.name });
    validateAttributeClasses(config.classes, 'classes');
    this.hiddenDim = config.hiddenDim;
    this.classes = [...config.classes];
    this.seed = config.seed;
    this.build();
  }

  override build(): void {
    if (this.built) return;
    this.groups = this.classes.map((k, g) =>
      this.addChild(`group_${g}`, new Linear({ inFeatures: this.hiddenDim, outFeatures: k, seed: deriveSeed(this.seed, g) })),
    );
    for (const layer of this.groups) layer.ensureBuilt();
    super.build([]);
  }

  /**
   * Attribute logits of each query, one tensor per group.
   * @param queries - `[rows, channels]` output queries (e.g. the ones matched to objects).
   * @returns per group `[rows, classes_g]`.
   */
  forward(queries: tf.Tensor2D): tf.Tensor2D[] {
    checkShapes({ queries: { tensor: queries, axes: ['rows', 'channels'], dtypes: ['float32'] } }, { channels: this.hiddenDim });
    return this.groups.map((layer) => layer.forward(queries) as tf.Tensor2D);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    return this.forward((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape[] {
    return this.classes.map((k) => [inputShape[0]!, k]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      hiddenDim: this.hiddenDim,
      classes: [...this.classes],
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(AttributeHead);

/**
 * Check a list of attribute class counts (each an integer ≥ 2; empty = no head).
 * @throws ValueError naming `field`.
 */
export function validateAttributeClasses(classes: unknown, field: string): void {
  if (!Array.isArray(classes) || classes.some((k) => typeof k !== 'number' || !Number.isInteger(k) || k < 2)) {
    throw new ValueError(`${field}: expected a list of class counts, each an integer ≥ 2, received ${JSON.stringify(classes)}`, field);
  }
}
