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
 * What the condition adapter pools, with a lexical shortcut: `H' = H + E(tokens) · W`, `W` a
 * learned `[hidden, hidden]` map that starts at 0 (so adding the skip to a trained model changes
 * nothing until it is trained).
 *
 * Why (beyond the paper): a small causal LM's final states are shaped for predicting the next
 * token; on the synthetic benchmark, a linear probe reads the shape a phrase names from the
 * mean-pooled phrase states only ~63 % of the time, though the word is in the phrase. The
 * paper's multi-billion-parameter LMs keep such content; the skip hands the adapter the words
 * themselves. A zero matrix rather than a zero gate on `E`: the gradient of `W`,
 * `Σ_t E_tᵀ ∂L/∂H'_t`, points where the adapter already reads from the start, whereas a gate's
 * gradient multiplies `E` with directions the adapter was never trained to read (measured: a
 * per-channel gate stayed at ~0.006 after 450 steps). Weight: `kernel [hidden, hidden]`.
 */
export class LexicalSkip extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLexicalSkip';
  /** Width of the states. */
  readonly hiddenSize: number;
  private kernel!: tf.LayerVariable;

  constructor(config: LexicalSkipConfig) {
    super({ name: config.name });
    this.hiddenSize = requirePositiveInt(config.hiddenSize, 'hiddenSize');
    this.build();
  }

  override build(): void {
    if (this.built) return;
    this.kernel = this.addParam('kernel', [this.hiddenSize, this.hiddenSize], tf.initializers.zeros());
    super.build([]);
  }

  /** `H + E · W` `[batch, tokens, hidden]`. */
  forward(inputs: LexicalSkipInputs): tf.Tensor3D {
    checkShapes(
      {
        hiddenStates: { tensor: inputs.hiddenStates, axes: ['batch', 'tokens', 'hidden'], dtypes: ['float32'] },
        tokenEmbeddings: { tensor: inputs.tokenEmbeddings, axes: ['batch', 'tokens', 'hidden'], dtypes: ['float32'] },
      },
      { hidden: this.hiddenSize },
    );
    const [batch, tokens, hidden] = inputs.tokenEmbeddings.shape;
    return tf.tidy(() => {
      // One 2-D product over every token (wasm's fast path).
      const lexical = tf.matMul(tf.reshape(inputs.tokenEmbeddings, [batch * tokens, hidden]), this.kernel.read() as tf.Tensor2D);
      return tf.add(inputs.hiddenStates, tf.reshape(lexical, [batch, tokens, hidden])) as tf.Tensor3D;
    });
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
