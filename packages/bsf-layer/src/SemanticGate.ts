import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, affine, checkShapes, requireFinite, requirePositiveInt, tidy } from '@flowseg/core';

/** Configuration of {@link SemanticGate}. */
export interface SemanticGateConfig {
  /** Width of both fused streams (`channels`). */
  dim: number;
  /**
   * Initial gate bias `b₀` (default {@link DEFAULT_GATE_BIAS_INIT}). The kernel starts at zero,
   * so at step 0 every gate equals `σ(b₀)`: a positive `b₀` leans on the visual path.
   */
  biasInit?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link SemanticGate.forward}. */
export interface SemanticGateInputs {
  /** Visual queries `Q_vis` `[batch, queries, channels]`. */
  readonly visual: tf.Tensor3D;
  /** Semantic queries `Q_sem` `[batch, queries, channels]`. */
  readonly semantic: tf.Tensor3D;
}

/** Outputs of {@link SemanticGate.forward}. */
export interface SemanticGateOutputs {
  /** Per-channel gate `g` in (0, 1) `[batch, queries, channels]` (1 = all visual). */
  readonly gate: tf.Tensor3D;
  /** Fused queries `g⊙Q_vis + (1−g)⊙Q_sem` `[batch, queries, channels]`. */
  readonly fused: tf.Tensor3D;
}

/**
 * Default initial gate bias: `σ(2) ≈ 0.88`, so at step 0 the fused query is 88 % the
 * pretrained visual query ("enhancement, not replacement") while the gate still sits where
 * the sigmoid has slope (0.105), so SR learns from the first step.
 */
export const DEFAULT_GATE_BIAS_INIT = 2;

/**
 * FlowSeg's gated fusion: `g = σ(W_g [Q_vis ‖ Q_sem] + b)` per channel,
 * `Q_fused = g⊙Q_vis + (1−g)⊙Q_sem`. Parameters `kernel [2·channels, channels]` (rows
 * `0..channels−1` read `Q_vis`, the rest `Q_sem`) and `bias [channels]`.
 *
 * Initialisation: kernel 0, bias `biasInit`, so the gate is exactly `σ(biasInit)` everywhere at
 * step 0 (deterministic, and no seed needed).
 */
export class SemanticGate extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegSemanticGate';
  /** Width of both streams (`channels`). */
  readonly dim: number;
  /** Initial gate bias. */
  readonly biasInit: number;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;

  constructor(config: SemanticGateConfig) {
    super({ name: config.name });
    this.dim = requirePositiveInt(config.dim, 'dim');
    this.biasInit = requireFinite(config.biasInit ?? DEFAULT_GATE_BIAS_INIT, 'biasInit');
  }

  override build(): void {
    if (this.built) return;
    this.kernel = this.addParam('kernel', [2 * this.dim, this.dim], tf.initializers.zeros());
    this.bias = this.addParam('bias', [this.dim], tf.initializers.constant({ value: this.biasInit }));
    super.build([]);
  }

  /** Gate and fuse; see {@link SemanticGateInputs} for shapes. */
  forward(inputs: SemanticGateInputs): SemanticGateOutputs {
    this.ensureBuilt();
    const { visual, semantic } = inputs;
    checkShapes(
      {
        visual: { tensor: visual, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
        semantic: { tensor: semantic, axes: ['batch', 'queries', 'channels'], dtypes: ['float32'] },
      },
      { channels: this.dim },
    );
    return tidy(() => {
      const [b, n] = visual.shape;
      // One 2-D matmul [B·N, 2D]×[2D, D]: wasm's fast path.
      const both = tf.reshape(tf.concat([visual, semantic], -1), [b * n, 2 * this.dim]);
      // Sigmoid stays outside the fused product: tfjs has no gradient for a fused sigmoid.
      const logits = affine(both as tf.Tensor2D, this.kernel.read() as tf.Tensor2D, this.bias.read() as tf.Tensor1D);
      const gate = tf.reshape(tf.sigmoid(logits), [b, n, this.dim]) as tf.Tensor3D;
      // g⊙v + (1−g)⊙s written as s + g⊙(v − s): one multiply fewer.
      const fused = tf.add(semantic, tf.mul(gate, tf.sub(visual, semantic))) as tf.Tensor3D;
      return { gate, fused };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [visual, semantic] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor3D[];
    return this.forward({ visual: visual!, semantic: semantic ?? visual! }).fused;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, biasInit: this.biasInit };
  }
}
tf.serialization.registerClass(SemanticGate);
