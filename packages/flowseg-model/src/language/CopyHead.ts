import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, deriveSeed, requireInt, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link CopyHead}. */
export interface CopyHeadConfig {
  /** Width of the language model's hidden states (`hidden`). */
  hiddenSize: number;
  /** Width of the copy attention's queries and keys (`copy`). */
  copyDim: number;
  /** Vocabulary size (`vocab`). */
  vocabSize: number;
  /** Seed of the query/key init (default 0): `query` gets `deriveSeed(seed, 0)`, `key` `deriveSeed(seed, 1)`. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link CopyHead.forward}. */
export interface CopyHeadInputs {
  /** The language model's final hidden states at the text positions `[batch, tokens, hidden]`. */
  readonly hiddenStates: tf.Tensor3D;
  /** The text tokens `[batch, tokens]` int32 (the ids the states were computed from). */
  readonly tokenIds: tf.Tensor2D;
  /** `[batch, tokens]` int32 or bool, 1 = real token, 0 = (left) padding; `null`/absent: all real. */
  readonly attentionMask?: tf.Tensor2D | null;
}

/**
 * A copy bonus for the next-token logits, `Δ[t, v] = s_t · Σ_{j<t} a[t, j] · [x_{j+1} = v]`,
 * `a[t, ·] = softmax_{j<t, j real}((h_t·W_q + b_q) · (h_j·W_k)ᵀ / √copy)`, `s_t = h_t·w_s + b_s`.
 * Position `t` attends to the earlier states `h_j` and votes for the token that followed each:
 * the state after "the large" in the answer finds the state after "the large" in the prompt and
 * proposes what came next there ("pentagon"), an induction-style lookup that a small language
 * model's attention does unreliably (beyond the paper: its multi-billion-parameter LMs copy well).
 * Added to the logits (not mixed into the probabilities as in pointer-generator networks) so that
 * `s` starts at exactly 0: a model extended with the head predicts what it did before until
 * trained. Rows with no earlier real token (the first token) get no bonus.
 *
 * Weights: `query.{kernel [hidden, copy], bias [copy]}`, `key.kernel [hidden, copy]`,
 * `strength_kernel [hidden, 1]`, `strength_bias [1]` (both zero at init).
 */
export class CopyHead extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegCopyHead';
  /** Width of the hidden states. */
  readonly hiddenSize: number;
  /** Width of the copy attention. */
  readonly copyDim: number;
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** Seed of the init. */
  readonly seed: number;
  private query!: Linear;
  private key!: Linear;
  private strengthKernel!: tf.LayerVariable;
  private strengthBias!: tf.LayerVariable;

  constructor(config: CopyHeadConfig) {
    super({ name: config.name });
    this.hiddenSize = requirePositiveInt(config.hiddenSize, 'hiddenSize');
    this.copyDim = requirePositiveInt(config.copyDim, 'copyDim');
    this.vocabSize = requirePositiveInt(config.vocabSize, 'vocabSize');
    this.seed = requireInt(config.seed ?? 0, 'seed');
    this.build();
  }

  override build(): void {
    if (this.built) return;
    const d = this.hiddenSize;
    this.query = this.addChild('query', new Linear({ inFeatures: d, outFeatures: this.copyDim, seed: deriveSeed(this.seed, 0) }));
    this.key = this.addChild('key', new Linear({ inFeatures: d, outFeatures: this.copyDim, useBias: false, seed: deriveSeed(this.seed, 1) }));
    this.query.ensureBuilt();
    this.key.ensureBuilt();
    this.strengthKernel = this.addParam('strength_kernel', [d, 1], tf.initializers.zeros());
    this.strengthBias = this.addParam('strength_bias', [1], tf.initializers.zeros());
    super.build([]);
  }

  /** The logit bonus `Δ` `[batch, tokens, vocab]` (row `t` scores the token at `t + 1`). */
  forward(inputs: CopyHeadInputs): tf.Tensor3D {
    const b = checkShapes(
      {
        hiddenStates: { tensor: inputs.hiddenStates, axes: ['batch', 'tokens', 'hidden'], dtypes: ['float32'] },
        tokenIds: { tensor: inputs.tokenIds, axes: ['batch', 'tokens'], dtypes: ['int32'] },
        attentionMask: { tensor: inputs.attentionMask, axes: ['batch', 'tokens'], dtypes: ['int32', 'bool'], optional: true },
      },
      { hidden: this.hiddenSize },
    );
    const batch = b.batch!;
    const tokens = b.tokens!;
    return tf.tidy(() => {
      const h = inputs.hiddenStates;
      const q = this.query.forward(h);
      const k = this.key.forward(h);
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(this.copyDim)); // [B, T, T]
      // valid[b, t, j] = j < t and token j is real (padding on one side only: then j + 1 ≤ t is real too).
      const earlier = tf.sub(tf.linalg.bandPart(tf.ones([tokens, tokens]), -1, 0), tf.eye(tokens)); // [T, T], 1 where j < t
      const valid = inputs.attentionMask
        ? tf.mul(tf.expandDims(earlier, 0), tf.expandDims(tf.cast(inputs.attentionMask, 'float32'), 1))
        : tf.tile(tf.expandDims(earlier, 0), [batch, 1, 1]);
      const masked = tf.add(scores, tf.mul(tf.sub(valid, 1), 1e9));
      // Zeroing after the softmax also empties rows with no valid j (it spread them uniformly).
      const weights = tf.mul(tf.softmax(masked), valid) as tf.Tensor3D;
      const nextIds = tf.concat([tf.slice(inputs.tokenIds, [0, 1], [batch, tokens - 1]), tf.zeros([batch, 1], 'int32')], 1);
      const proposals = tf.cast(tf.oneHot(nextIds, this.vocabSize), 'float32') as tf.Tensor3D; // [B, T, V]
      const votes = tf.matMul(weights, proposals); // [B, T, V]
      const flat = tf.reshape(h, [batch * tokens, this.hiddenSize]);
      const strength = tf.add(tf.matMul(flat, this.strengthKernel.read() as tf.Tensor2D), this.strengthBias.read());
      return tf.mul(votes, tf.reshape(strength, [batch, tokens, 1])) as tf.Tensor3D;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length < 2) throw new ValueError('inputs: expected [hiddenStates, tokenIds, attentionMask?]', 'inputs');
    return this.forward({
      hiddenStates: inputs[0] as tf.Tensor3D,
      tokenIds: inputs[1] as tf.Tensor2D,
      attentionMask: (inputs[2] as tf.Tensor2D | undefined) ?? null,
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const first = (inputShape as tf.Shape[])[0]!;
    return [first[0]!, first[1]!, this.vocabSize];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), hiddenSize: this.hiddenSize, copyDim: this.copyDim, vocabSize: this.vocabSize, seed: this.seed };
  }
}
tf.serialization.registerClass(CopyHead);
