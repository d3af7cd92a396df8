import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, ValueError, checkShapes, requirePositiveInt } from '@flowseg/core';

/** Configuration of {@link LexicalSkip}. */
export interface LexicalSkipConfig {
  /** Width of the hidden states and token embeddings (`hidden`). */
  hiddenSize: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link LexicalSkip.forward}. */
export interface LexicalSkipInputs {
  /** The language model's final hidden states at the text positions `[batch, tokens, hidden]`. */
  readonly hiddenStates: tf.Tensor3D;
  /** The same tokens' input embeddings `[batch, tokens, hidden]`. */
  readonly tokenEmbeddings: tf.Tensor3D;
}

/**
 * What the condition adapter pools, with a lexical shortcut: `H' = H + g ⊙ (√hidden · E(tokens))`,
 * `g` a learned per-channel gate that starts at 0 (so adding the skip to a trained model changes
 * nothing until it is trained). The `√hidden` factor (the original Transformer's embedding
 * scale) brings embedding rows of norm ~1 to the per-channel scale of the final-norm states, so
 * that `g` near 1 matters and an optimizer's ~1e-3 steps open the gate within a few hundred steps.
 *
 * Why (beyond the paper): a small causal LM's final states are shaped for predicting the next
 * token; on the synthetic benchmark, a linear probe reads the shape a phrase names from the
 * mean-pooled phrase states only ~63 % of the time, though the word is in the phrase. The
 * paper's multi-billion-parameter LMs keep such content; the skip hands the adapter the words
 * themselves. Weight: `gate [hidden]`.
 */
export class LexicalSkip extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLexicalSkip';
  /** Width of the states. */
  readonly hiddenSize: number;
  private gate!: tf.LayerVariable;

  constructor(config: LexicalSkipConfig) {
    super({ name: config.name });
    this.hiddenSize = requirePositiveInt(config.hiddenSize, 'hiddenSize');
    this.build();
  }

  override build(): void {
    if (this.built) return;
    this.gate = this.addParam('gate', [this.hiddenSize], tf.initializers.zeros());
    super.build([]);
  }

  /** `H + g ⊙ (√hidden · E)` `[batch, tokens, hidden]`. */
  forward(inputs: LexicalSkipInputs): tf.Tensor3D {
    checkShapes(
      {
        hiddenStates: { tensor: inputs.hiddenStates, axes: ['batch', 'tokens', 'hidden'], dtypes: ['float32'] },
        tokenEmbeddings: { tensor: inputs.tokenEmbeddings, axes: ['batch', 'tokens', 'hidden'], dtypes: ['float32'] },
      },
      { hidden: this.hiddenSize },
    );
    return tf.tidy(() => tf.add(inputs.hiddenStates, tf.mul(inputs.tokenEmbeddings, tf.mul(this.gate.read(), Math.sqrt(this.hiddenSize)))) as tf.Tensor3D);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) throw new ValueError('inputs: expected [hiddenStates, tokenEmbeddings]', 'inputs');
    return this.forward({ hiddenStates: inputs[0] as tf.Tensor3D, tokenEmbeddings: inputs[1] as tf.Tensor3D });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0]!;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), hiddenSize: this.hiddenSize };
  }
}
tf.serialization.registerClass(LexicalSkip);
