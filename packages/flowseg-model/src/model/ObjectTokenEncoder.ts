import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, ValueError, checkShapes, requirePositiveInt } from '@flowseg/core';
import { validateAttributeClasses } from './AttributeHead.js';
import { pixelCentres } from './region/pixelCentres.js';

/** Configuration of {@link ObjectTokenEncoder}. */
export interface ObjectTokenEncoderConfig {
  /** Width of the language model's tokens (`hidden`). */
  tokenDim: number;
  /** Classes of each attribute group, as the model's `AttributeHead` (e.g. `[6, 6, 2]`). */
  classes: readonly number[];
  /** Initializer seed. */
  seed?: number;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link ObjectTokenEncoder.forward}: one condition-free decoder pass. */
export interface ObjectTokenInputs {
  /** Attribute logits, one tensor per group `[batch, objects, classes_g]`. */
  readonly attributeLogits: readonly tf.Tensor3D[];
  /** Object / no-object logits `[batch, objects, 2]` (Mask2Former's class head, one class). */
  readonly objectLogits: tf.Tensor3D;
  /** Mask logits `[batch, objects, maskHeight, maskWidth]`. */
  readonly maskLogits: tf.Tensor4D;
}

/** Geometry features per object: centroid x, centroid y (in [0, 1]), √area. */
const GEOMETRY_FEATURES = 3;

/**
 * One language-model token per decoder query of a condition-free pass:
 * `o_i = W · [softmax(a_i,1) ; … ; softmax(a_i,G) ; p_i ; x̄_i ; ȳ_i ; √area_i] + b`, where
 * `a_i,g` are the attribute head's logits of group `g`, `p_i` the objectness probability and
 * `x̄, ȳ, area` the centroid and area of the soft mask `σ(m_i)` (image-relative).
 *
 * Why (beyond the paper): a reasoning prompt ("the shape with the same colour as the star")
 * implies its target; the answer must name it, which needs the colours and shapes present. The
 * image tokens of a small vision encoder are merged patches in which a two-layer language model
 * does not find them; these tokens state them per object, in the segmentor's own read-out.
 * Weights: `proj.kernel`, `proj.bias`.
 */
export class ObjectTokenEncoder extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegObjectTokenEncoder';
  /** Width of the tokens. */
  readonly tokenDim: number;
  /** Classes per attribute group. */
  readonly classes: readonly number[];
  /** Initializer seed, if any. */
  readonly seed: number | undefined;
  private proj!: Linear;

  constructor(config: ObjectTokenEncoderConfig) {
    super({ name: config.name });
    this.tokenDim = requirePositiveInt(config.tokenDim, 'tokenDim');
    validateAttributeClasses(config.classes, 'classes');
    this.classes = [...config.classes];
    this.seed = config.seed;
    this.build();
  }

  /** Features per object before the projection. */
  get featureCount(): number {
    return this.classes.reduce((a, k) => a + k, 0) + 1 + GEOMETRY_FEATURES;
  }

  override build(): void {
    if (this.built) return;
    this.proj = this.addChild('proj', new Linear({ inFeatures: this.featureCount, outFeatures: this.tokenDim, seed: this.seed }));
    this.proj.ensureBuilt();
    super.build([]);
  }

  /**
   * Object tokens.
   * @returns `[batch, objects, tokenDim]`.
   */
  forward(inputs: ObjectTokenInputs): tf.Tensor3D {
    if (!Array.isArray(inputs.attributeLogits) || inputs.attributeLogits.length !== this.classes.length) {
      throw new ValueError(
        `attributeLogits: expected ${this.classes.length} tensors (one per attribute group), received ${Array.isArray(inputs.attributeLogits) ? inputs.attributeLogits.length : typeof inputs.attributeLogits}`,
        'attributeLogits',
      );
    }
    const specs: Parameters<typeof checkShapes>[0] = {
      objectLogits: { tensor: inputs.objectLogits, axes: ['batch', 'objects', 2], dtypes: ['float32'] },
      maskLogits: { tensor: inputs.maskLogits, axes: ['batch', 'objects', 'maskHeight', 'maskWidth'], dtypes: ['float32'] },
    };
    inputs.attributeLogits.forEach((t, g) => {
      specs[`attributeLogits[${g}]`] = { tensor: t, axes: ['batch', 'objects', this.classes[g]!], dtypes: ['float32'] };
    });
    const dims = checkShapes(specs);
    const [batch, objects, h, w] = [dims['batch']!, dims['objects']!, dims['maskHeight']!, dims['maskWidth']!];
    return tf.tidy(() => {
      const attributes = inputs.attributeLogits.map((t) => tf.softmax(t));
      const objectness = tf.slice(tf.softmax(inputs.objectLogits), [0, 0, 0], [batch, objects, 1]);
      // Soft mask moments from its marginals: area = mean σ(m); centroid = Σ σ(m)·coord / Σ σ(m).
      const m = tf.sigmoid(inputs.maskLogits);
      const columns = tf.sum(m, 2); // [batch, objects, w]
      const rows = tf.sum(m, 3); // [batch, objects, h]
      const mass = tf.sum(columns, -1, true);
      const centroid = (marginal: tf.Tensor, length: number) =>
        tf.div(tf.sum(tf.mul(marginal, pixelCentres(length)), -1, true), tf.maximum(mass, 1e-6));
      const area = tf.sqrt(tf.div(mass, h * w));
      const features = tf.concat([...attributes, objectness, centroid(columns, w), centroid(rows, h), area], -1);
      const flat = tf.reshape(features, [batch * objects, this.featureCount]) as tf.Tensor2D;
      return tf.reshape(this.proj.forward(flat), [batch, objects, this.tokenDim]) as tf.Tensor3D;
    });
  }

  override call(): tf.Tensor {
    throw new ValueError('ObjectTokenEncoder is used through forward(); it has several typed inputs', 'inputs');
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const masks = (inputShape as tf.Shape[])[this.classes.length + 1]!;
    return [masks[0]!, masks[1]!, this.tokenDim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      tokenDim: this.tokenDim,
      classes: [...this.classes],
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(ObjectTokenEncoder);
