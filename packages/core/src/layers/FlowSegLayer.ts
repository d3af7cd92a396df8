import * as tf from '@tensorflow/tfjs';

type LayerVariable = tf.LayerVariable;
/** Weight initializer accepted by `addWeight`. */
export type WeightInitializer = NonNullable<Parameters<tf.layers.Layer['addWeight']>[3]>;

/**
 * Base class of every FlowSeg layer: a `tf.layers.Layer` that owns named parameters and
 * named child layers, and exposes them under stable, hierarchical names.
 *
 * Why: TF.js gives weights globally-uniquified names (`kernel_12`) that change with creation
 * order, so they cannot key a checkpoint. {@link FlowSegLayer.namedWeights} yields dotted
 * PyTorch-style paths (`layers.0.self_attn.q_proj.kernel`) that depend only on the model's
 * structure. Children's weights are reported by `trainableWeights`/`nonTrainableWeights`,
 * so optimizers, `countParams()` and `getWeights()` see the whole tree.
 *
 * Subclasses create parameters with {@link FlowSegLayer.addParam} and children with
 * {@link FlowSegLayer.addChild} inside `build()`, sizing everything from their config (not
 * from the input shape), then call `super.build()`. Typed eager methods call
 * {@link FlowSegLayer.ensureBuilt} first.
 */
export abstract class FlowSegLayer extends tf.layers.Layer {
  private readonly childLayers = new Map<string, tf.layers.Layer>();
  private readonly params = new Map<string, LayerVariable>();

  /** Register a child layer under a stable key (built by the caller or by `ensureBuilt`). */
  protected addChild<T extends tf.layers.Layer>(key: string, layer: T): T {
    if (this.childLayers.has(key)) throw new Error(`${this.name}: duplicate child key "${key}"`);
    this.childLayers.set(key, layer);
    return layer;
  }

  /** Create a float32 parameter under a stable key. */
  protected addParam(
    key: string,
    shape: number[],
    initializer: WeightInitializer,
    trainable = true,
  ): LayerVariable {
    if (this.params.has(key)) throw new Error(`${this.name}: duplicate parameter key "${key}"`);
    const v = this.addWeight(key, shape, 'float32', initializer, undefined, trainable);
    this.params.set(key, v);
    return v;
  }

  /** Build from config if not built yet (shape-independent layers only). */
  ensureBuilt(): void {
    if (!this.built) this.build([]);
  }

  /** Children in registration order. */
  protected children(): tf.layers.Layer[] {
    return [...this.childLayers.values()];
  }

  /** Trainable weights of this layer and all descendants. */
  override get trainableWeights(): LayerVariable[] {
    return [...super.trainableWeights, ...this.children().flatMap((c) => c.trainableWeights)];
  }

  /** Not supported: weights are created by `build()`. */
  override set trainableWeights(_w: LayerVariable[]) {
    throw new Error('trainableWeights cannot be assigned');
  }

  /** Non-trainable weights of this layer and all descendants. */
  override get nonTrainableWeights(): LayerVariable[] {
    return [...super.nonTrainableWeights, ...this.children().flatMap((c) => c.nonTrainableWeights)];
  }

  /** Not supported: weights are created by `build()`. */
  override set nonTrainableWeights(_w: LayerVariable[]) {
    throw new Error('nonTrainableWeights cannot be assigned');
  }

  /** Whether the layer's weights are updated in training. */
  override get trainable(): boolean {
    return super.trainable;
  }

  /** Set trainability of this layer and all descendants. */
  override set trainable(value: boolean) {
    super.trainable = value;
    for (const c of this.children()) c.trainable = value;
  }

  /**
   * Every parameter of this layer and its descendants under a dotted, structure-derived
   * name (`prefix` + key path), in registration order.
   */
  namedWeights(prefix = ''): Map<string, LayerVariable> {
    this.ensureBuilt();
    const out = new Map<string, LayerVariable>();
    for (const [k, v] of this.params) out.set(prefix + k, v);
    for (const [k, child] of this.childLayers) {
      if (child instanceof FlowSegLayer) {
        for (const [ck, cv] of child.namedWeights(`${prefix}${k}.`)) out.set(ck, cv);
      } else {
        for (const w of child.weights) {
          out.set(`${prefix}${k}.${w.originalName.split('/').pop()}`, w);
        }
      }
    }
    return out;
  }

  /**
   * Free this layer's weights and its descendants'. Layers used through their typed eager
   * methods are never `apply()`d, so TF.js's reference count was never started and its
   * `dispose()` would refuse; such a layer owns its weights outright and frees them here. A
   * layer used symbolically keeps TF.js's reference-counted behaviour. Disposing twice throws.
   */
  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    if (this.built && this._refCount === null) {
      const numDisposedVariables = this.disposeWeights();
      this.markDisposed();
      return { refCountAfterDispose: 0, numDisposedVariables };
    }
    // `weights` includes every descendant's, so TF.js's disposeWeights frees the whole tree.
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) this.markDisposed();
    return result;
  }

  private markDisposed(): void {
    this._refCount = 0;
    for (const c of this.children()) {
      if (c instanceof FlowSegLayer) c.markDisposed();
    }
  }
}
