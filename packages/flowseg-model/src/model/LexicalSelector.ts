import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, deriveSeed, requireInt, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link LexicalSelector}. */
export interface LexicalSelectorConfig {
  /** Width of the candidates' output queries (`channels`). */
  queryDim: number;
  /** Width of the phrase's word embeddings (`hidden`, the language model's width). */
  wordDim: number;
  /** Width both sides are projected to (`projection`). */
  projectionDim: number;
  /** Seed of the query projection's init (default 0; `deriveSeed(seed, 0)`). */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link LexicalSelector.forward}. */
export interface LexicalSelectorInputs {
  /** Candidates' output queries `Q_out` `[targets, queries, channels]`. */
  readonly queries: tf.Tensor3D;
  /** Mean word embedding of each target's phrase `[targets, hidden]` (zeros for a target without one). */
  readonly words: tf.Tensor2D;
}

/**
 * A second selection score from the phrase's words themselves:
 * `s_lex,i = (Q_out,i·W_q + b_q) · (w̄·W_w) / √projection`, `w̄` the mean input embedding of the
 * target's phrase tokens. FlowSeg's own score (`ConditionQuerySelector`) compares each candidate
 * with the refined condition `c`, which passes through the adapter and every decoder layer; on the
 * synthetic benchmark the attribute head reads the named shape back from `c` only ~64 % of the
 * time, while the candidates' queries carry it (~94 %). This score is added to FlowSeg's, giving
 * selection a short path from the words to the candidates (beyond the paper). `W_w` starts at 0,
 * so a model extended with it selects as before until trained; its gradient
 * `Σ_i ∂L/∂s_i · w̄ᵀ(Q_i·W_q + b_q)` is non-zero from the start.
 *
 * Weights: `query_proj.{kernel [channels, projection], bias [projection]}`,
 * `word_kernel [hidden, projection]` (zero at init).
 */
export class LexicalSelector extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLexicalSelector';
  /** Width of the queries. */
  readonly queryDim: number;
  /** Width of the word embeddings. */
  readonly wordDim: number;
  /** Projection width. */
  readonly projectionDim: number;
  /** Seed of the init. */
  readonly seed: number;
  private queryProj!: Linear;
  private wordKernel!: tf.LayerVariable;

  constructor(config: LexicalSelectorConfig) {
    super({ name: config.name });
    this.queryDim = requirePositiveInt(config.queryDim, 'queryDim');
    this.wordDim = requirePositiveInt(config.wordDim, 'wordDim');
    this.projectionDim = requirePositiveInt(config.projectionDim, 'projectionDim');
    this.seed = requireInt(config.seed ?? 0, 'seed');
    this.build();
  }

  override build(): void {
    if (this.built) return;
    this.queryProj = this.addChild('query_proj', new Linear({ inFeatures: this.queryDim, outFeatures: this.projectionDim, seed: deriveSeed(this.seed, 0) }));
    this.queryProj.ensureBuilt();
    this.wordKernel = this.addParam('word_kernel', [this.wordDim, this.projectionDim], tf.initializers.zeros());
    super.build([]);
  }

  /** Scores `[targets, queries]`, to add to FlowSeg's selection scores. */
  forward(inputs: LexicalSelectorInputs): tf.Tensor2D {
    checkShapes(
      {
        queries: { tensor: inputs.queries, axes: ['targets', 'queries', 'channels'], dtypes: ['float32'] },
        words: { tensor: inputs.words, axes: ['targets', 'hidden'], dtypes: ['float32'] },
      },
      { channels: this.queryDim, hidden: this.wordDim },
    );
    return tf.tidy(() => {
      const q = this.queryProj.forward(inputs.queries); // [R, N, P]
      const w = tf.mul(tf.matMul(inputs.words, this.wordKernel.read() as tf.Tensor2D), 1 / Math.sqrt(this.projectionDim)); // [R, P]
      // Σ_p q[r, i, p]·w[r, p]: a broadcast product and a sum (no batched matmul, slow on wasm).
      return tf.sum(tf.mul(q, tf.expandDims(w, 1)), -1) as tf.Tensor2D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) throw new ValueError('inputs: expected [queries, words]', 'inputs');
    return this.forward({ queries: inputs[0] as tf.Tensor3D, words: inputs[1] as tf.Tensor2D });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const q = (inputShape as tf.Shape[])[0]!;
    return [q[0]!, q[1]!];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), queryDim: this.queryDim, wordDim: this.wordDim, projectionDim: this.projectionDim, seed: this.seed };
  }
}
tf.serialization.registerClass(LexicalSelector);
