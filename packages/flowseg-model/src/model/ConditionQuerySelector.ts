import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, deriveSeed } from '@flowseg/core';

/** Configuration of {@link ConditionQuerySelector}. */
export interface ConditionQuerySelectorConfig {
  /** Width of queries and conditions (`channels`). */
  hiddenDim: number;
  /** Width both sides are projected to before the cosine. */
  projectionDim: number;
  /** Temperature τ: scores are `cos / τ`. */
  temperature: number;
  /** Initializer seed. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link ConditionQuerySelector.forward}. */
export interface SelectionInputs {
  /** Output queries `Q_out` `[targets, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** One condition vector per target (e.g. the mean of its refined conditions `C⁽ᴸ⁾`) `[targets, channels]`. */
  readonly condition: tf.Tensor2D;
}

/**
 * FlowSeg's final selection: each candidate's score is the cosine similarity of its output
 * query with the target's refined condition, both through a learned projection, divided by a
 * temperature: `s_i = cos(W_q Q_out,i, W_c c) / τ`. The selected mask is `argmax_i s_i`; in
 * training, `softmax(s)` is supervised with the query Hungarian-matched to the target.
 * Weights: `query_proj.*`, `condition_proj.*`.
 */
export class ConditionQuerySelector extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegConditionQuerySelector';
  /** Width of queries and conditions. */
  readonly hiddenDim: number;
  /** Projection width. */
  readonly projectionDim: number;
  /** Temperature τ. */
  readonly temperature: number;
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private queryProj!: Linear;
  private conditionProj!: Linear;

  constructor(config: ConditionQuerySelectorConfig) {
    super({ name: config.name });
    if (!(config.temperature > 0) || !Number.isFinite(config.temperature)) {
      throw new ValueError(`temperature: expected a finite value > 0, received ${config.temperature}`, 'temperature');
    }
    this.hiddenDim = config.hiddenDim;
    this.projectionDim = config.projectionDim;
    this.temperature = config.temperature;
    this.seed = config.seed;
    this.build();
  }

  override build(): void {
    if (this.built) return;
    const make = (i: number) =>
      new Linear({ inFeatures: this.hiddenDim, outFeatures: this.projectionDim, seed: deriveSeed(this.seed, i) });
    this.queryProj = this.addChild('query_proj', make(0));
    this.conditionProj = this.addChild('condition_proj', make(1));
    this.queryProj.ensureBuilt();
    this.conditionProj.ensureBuilt();
    super.build([]);
  }

  /** Candidate scores `[targets, queries]` (`cos / τ`). */
  forward(inputs: SelectionInputs): tf.Tensor2D {
    checkShapes(
      {
        queries: { tensor: inputs.queries, axes: ['targets', 'queries', 'channels'], dtypes: ['float32'] },
        condition: { tensor: inputs.condition, axes: ['targets', 'channels'], dtypes: ['float32'] },
      },
      { channels: this.hiddenDim },
    );
    return tf.tidy(() => {
      const unit = (x: tf.Tensor) => tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-6));
      const q = unit(this.queryProj.forward(inputs.queries)); // [R, N, P]
      const c = unit(this.conditionProj.forward(inputs.condition)); // [R, P]
      const cos = tf.squeeze(tf.matMul(q, tf.expandDims(c, 2)), [2]); // [R, N]
      return tf.div(cos, this.temperature) as tf.Tensor2D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [queries, condition] = inputs as tf.Tensor[];
    return this.forward({ queries: queries as tf.Tensor3D, condition: condition as tf.Tensor2D });
  }

  override computeOutputShape(inputShape: tf.Shape[]): tf.Shape {
    return [inputShape[0]![0]!, inputShape[0]![1]!];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      hiddenDim: this.hiddenDim,
      projectionDim: this.projectionDim,
      temperature: this.temperature,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(ConditionQuerySelector);
