import * as tf from '@tensorflow/tfjs';
import { DTypeError, FlowSegLayer, ValueError, deriveSeed, requireInt, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link Embedding}. */
export interface EmbeddingConfig {
  /** Number of rows (vocabulary size or number of positions). */
  numEmbeddings: number;
  /** Width of each row. */
  dim: number;
  /** Standard deviation of the normal init (default 0.02, GPT-2's). */
  initStd?: number;
  /** Seed of the init (default 0). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/**
 * Lookup table `weight [numEmbeddings, dim]`, initialised `N(0, initStd²)` from `seed`.
 * The lookup is `tf.gather`, whose gradient (`UnsortedSegmentSum`) `@flowseg/core`
 * registers for wasm, so it trains on every backend.
 */
export class Embedding extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegEmbedding';
  /** Number of rows. */
  readonly numEmbeddings: number;
  /** Width of each row. */
  readonly dim: number;
  /** Standard deviation of the init. */
  readonly initStd: number;
  /** Seed of the init. */
  readonly seed: number;
  private table!: tf.LayerVariable;

  constructor(config: EmbeddingConfig) {
    super({ name: config.name });
    this.numEmbeddings = requirePositiveInt(config.numEmbeddings, 'numEmbeddings');
    this.dim = requirePositiveInt(config.dim, 'dim');
    const initStd = config.initStd ?? 0.02;
    if (!(initStd > 0)) throw new ValueError(`initStd: expected > 0, received ${initStd}`, 'initStd');
    this.initStd = initStd;
    this.seed = requireInt(config.seed ?? 0, 'seed');
  }

  override build(): void {
    if (this.built) return;
    this.table = this.addParam(
      'weight',
      [this.numEmbeddings, this.dim],
      // Derived, not `this.seed` itself: TF.js's normal sampler treats seed 0 as "unseeded".
      tf.initializers.randomNormal({ mean: 0, stddev: this.initStd, seed: deriveSeed(this.seed, 0) }),
    );
    super.build([]);
  }

  /** The table `[numEmbeddings, dim]` (read inside the caller's tape, e.g. for a tied output head). */
  get weight(): tf.Tensor2D {
    this.ensureBuilt();
    return this.table.read() as tf.Tensor2D;
  }

  /**
   * Look rows up.
   * @param ids - int32 indices of any shape `[...]`, each in `[0, numEmbeddings)` (not
   *   checked: reading them back would stall the pipeline; out-of-range ids give zeros on
   *   some backends).
   * @returns `[..., dim]`.
   */
  forward(ids: tf.Tensor): tf.Tensor {
    this.ensureBuilt();
    if (ids.dtype !== 'int32') throw new DTypeError('ids', ['int32'], ids.dtype);
    return tf.tidy(() => tf.gather(this.table.read(), ids));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.forward(Array.isArray(inputs) ? inputs[0]! : inputs);
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape, this.dim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numEmbeddings: this.numEmbeddings,
      dim: this.dim,
      initStd: this.initStd,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(Embedding);
