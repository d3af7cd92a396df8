import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, backendReadsSynchronously, checkShapes, deriveSeed, tanhViaSigmoid, tidy } from '@flowseg/core';
import { morphologicalGradient, thresholdGradient } from './band/boundaryBand.js';
import { learnedThresholdBand } from './band/learnedThresholdBand.js';
import { BoundaryRefineNet } from './BoundaryRefineNet.js';
import { buildBandIndices } from './bandIndices.js';
import { HOST_BAND_MAX_PIXELS, hostBoundaryBand } from './band/hostBoundaryBand.js';
import { withoutGradient } from './band/withoutGradient.js';
import { gatherRows, scatterRows } from './gatherRows.js';
import { compactFeatureTaps } from './compactFeatureTaps.js';
import {
  barParameterBreakdown,
  resolveBarConfig,
  type AdaptiveThreshold,
  type BarParameterBreakdown,
  type BoundaryAwareRefinementConfig,
  type ResolvedBarConfig,
} from './config.js';

/** Inputs of {@link BoundaryAwareRefinement.forward}. */
export interface BoundaryAwareRefinementInputs {
  /** Raw mask logits `M_raw` `[batch, masks, height, width]`, float32. Any number of masks. */
  readonly maskLogits: tf.Tensor4D;
  /**
   * Pixel features `F_pix` `[batch, featureHeight, featureWidth, channels]`, float32, with
   * `channels = featureChannels`. Any resolution: after `f_comp` they are resized bilinearly
   * to the mask's `[height, width]` (half-pixel centers, edges clamped, i.e. PyTorch's
   * `interpolate(mode='bilinear', align_corners=False)`, no antialiasing).
   */
  readonly pixelFeatures: tf.Tensor4D;
  /** Training mode. BAR has no dropout or normalization, so this changes nothing today. */
  readonly training?: boolean;
}

/** Outputs of {@link BoundaryAwareRefinement.forward}. */
export interface BoundaryAwareRefinementOutputs {
  /** `M_refined = M_raw + ΔM ⊙ B` `[batch, masks, height, width]`; equals `M_raw` outside the band. */
  readonly refinedLogits: tf.Tensor4D;
  /** The boundary band `B` `[batch, masks, height, width]`, float32 in {0, 1}, no gradient to the logits. */
  readonly band: tf.Tensor4D;
  /**
   * The correction applied, `ΔM ⊙ B` with `ΔM = α·tanh(f_refine(…))` `[batch, masks, height, width]`:
   * `refinedLogits = maskLogits + delta`, `|delta| ≤ |α|`, exactly 0 outside the band.
   */
  readonly delta: tf.Tensor4D;
}

/**
 * Boundary-Aware Refinement (BAR) of mask logits, usable after any mask head:
 *
 * - `p = σ(M_raw)`, `g = dilate_k(p) − erode_k(p)` (max-pool, stride 1, window clipped to the
 *   image), `B = 1[g > ε]` (see {@link AdaptiveThreshold} for the optional adaptive threshold),
 *   cut from the gradient tape;
 * - `F_comp = f_comp(F_pix)`: a 1×1 conv (core `Linear`, weights `f_comp.kernel [C, Cc]`,
 *   `f_comp.bias [Cc]`) applied at the feature resolution, then resized bilinearly to the mask
 *   resolution (compressing first is cheaper and exact: bilinear resizing is linear with
 *   weights summing to 1, so it commutes with an affine map);
 * - `ΔM = α · tanh(f_refine([M_raw ‖ F_comp]))` ({@link BoundaryRefineNet}; tanh computed as
 *   `2σ(2x) − 1`), with the learnable scalar `alpha` (init `alphaInit`, default 0.1);
 * - `M_refined = M_raw + ΔM ⊙ B`.
 *
 * By default (`evaluation: 'band'`) `f_refine` runs only at the band pixels and the conv taps
 * they read (see {@link RefineEvaluation}); `'dense'` runs it everywhere, and so does `'band'` on
 * a backend without synchronous reads (WebGPU). Both give the same output up to float rounding
 * and leave every pixel outside the band bit-exact.
 *
 * Masks are folded into the batch for the convs; the features' share of the first conv is
 * computed once per image and broadcast over the masks (never N copies of `F_comp`). With band
 * evaluation and `F_pix` already at the mask resolution, `f_comp` runs only at the pixels the
 * band's conv taps read (see `compactFeatureTaps`).
 * Weights (stable names): `f_comp.kernel`, `f_comp.bias`, `f_refine.conv1.kernel`,
 * `f_refine.conv1.bias`, `f_refine.conv2.kernel`, `f_refine.conv2.bias`, `alpha`, and
 * `epsilon_logit` with `adaptiveThreshold: 'learned'`. See {@link barParameterBreakdown}.
 *
 * @example
 * ```ts
 * const bar = new BoundaryAwareRefinement({ featureChannels: 256 });
 * const { refinedLogits } = bar.forward({ maskLogits, pixelFeatures });
 * ```
 */
export class BoundaryAwareRefinement extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegBoundaryAwareRefinement';
  /** The validated config with defaults filled in. */
  readonly settings: Readonly<ResolvedBarConfig>;
  private fComp!: Linear;
  private fRefine!: BoundaryRefineNet;
  private alpha!: tf.LayerVariable;
  private epsilonLogit: tf.LayerVariable | null = null;

  constructor(config: BoundaryAwareRefinementConfig = {}) {
    super({ name: config.name });
    this.settings = Object.freeze(resolveBarConfig(config));
  }

  /** The band's threshold mode. */
  get adaptiveThreshold(): AdaptiveThreshold {
    return this.settings.adaptiveThreshold;
  }

  override build(): void {
    if (this.built) return;
    const s = this.settings;
    this.fComp = this.addChild(
      'f_comp',
      new Linear({ inFeatures: s.featureChannels, outFeatures: s.compChannels, seed: deriveSeed(s.seed, 0) }),
    );
    this.fComp.ensureBuilt();
    this.fRefine = this.addChild(
      'f_refine',
      new BoundaryRefineNet({
        compChannels: s.compChannels,
        hiddenChannels: s.hiddenChannels,
        kernelSize: s.refineKernelSize,
        seed: deriveSeed(s.seed, 1),
      }),
    );
    this.fRefine.ensureBuilt();
    this.alpha = this.addParam('alpha', [], tf.initializers.constant({ value: s.alphaInit }));
    if (s.adaptiveThreshold === 'learned') {
      const logit = Math.log(s.epsilon / (1 - s.epsilon));
      this.epsilonLogit = this.addParam('epsilon_logit', [], tf.initializers.constant({ value: logit }));
    }
    super.build([]);
  }

  /** Total parameter count (builds the layer if needed). */
  override countParams(): number {
    this.ensureBuilt();
    return super.countParams();
  }

  /** Parameter count by component; `total` equals {@link BoundaryAwareRefinement.countParams}. */
  parameterBreakdown(): BarParameterBreakdown {
    return barParameterBreakdown(this.settings);
  }

  /** Current threshold ε: the fixed one, or `σ(θ)` in `'learned'` mode (per-mask in `'relative'` mode it is ε·max g). */
  currentEpsilon(): number {
    if (!this.epsilonLogit) return this.settings.epsilon;
    this.ensureBuilt();
    const theta = this.epsilonLogit.read().dataSync()[0]!;
    return 1 / (1 + Math.exp(-theta));
  }

  /**
   * Refine mask logits inside their boundary band.
   * @throws ShapeError when an input does not match its documented axes (or `channels ≠ featureChannels`).
   * @throws DTypeError when an input is not float32.
   */
  forward(inputs: BoundaryAwareRefinementInputs): BoundaryAwareRefinementOutputs {
    this.ensureBuilt();
    const { maskLogits, pixelFeatures } = inputs;
    const s = this.settings;
    const { height, width } = checkShapes({
      maskLogits: { tensor: maskLogits, axes: ['batch', 'masks', 'height', 'width'], dtypes: ['float32'] },
      pixelFeatures: {
        tensor: pixelFeatures,
        axes: ['batch', 'featureHeight', 'featureWidth', { name: 'channels', size: s.featureChannels }],
        dtypes: ['float32'],
      },
    }) as { height: number; width: number };
    return tidy(() => {
      // Band evaluation reads the band back (dataSync); where that is impossible, go dense (same ΔM).
      if (s.evaluation === 'dense' || !backendReadsSynchronously()) {
        const band = this.band(maskLogits);
        const delta = this.denseDelta(maskLogits, this.compFeatures(pixelFeatures, height, width), band);
        return { refinedLogits: tf.add(maskLogits, delta) as tf.Tensor4D, band, delta };
      }
      const { band, bandValues } = this.bandRead(maskLogits);
      const delta = this.bandDelta(maskLogits, pixelFeatures, bandValues);
      return { refinedLogits: tf.add(maskLogits, delta) as tf.Tensor4D, band, delta };
    });
  }

  /** `F_comp = f_comp(F_pix)` at every pixel, resized to the masks' `[height, width]`. */
  private compFeatures(pixelFeatures: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
    const comp = this.fComp.forward(pixelFeatures);
    if (comp.shape[1] === height && comp.shape[2] === width) return comp;
    return tf.image.resizeBilinear(comp, [height, width], false, true);
  }

  /** `α·tanh(f_refine(…)) ⊙ B` with `f_refine` evaluated everywhere. */
  private denseDelta(maskLogits: tf.Tensor4D, compFeatures: tf.Tensor4D, band: tf.Tensor4D): tf.Tensor4D {
    const pre = this.fRefine.forward({ maskLogits, compFeatures });
    return tf.mul(tf.mul(tanhViaSigmoid(pre), this.alpha.read()), band) as tf.Tensor4D;
  }

  /** `α·tanh(f_refine(…)) ⊙ B` with `f_refine` evaluated at the band pixels only, scattered back. */
  private bandDelta(maskLogits: tf.Tensor4D, pixelFeatures: tf.Tensor4D, band: ArrayLike<number>): tf.Tensor4D {
    const shape = maskLogits.shape;
    const [b, , h, w] = shape;
    const indices = buildBandIndices(band, shape, this.settings.refineKernelSize);
    // Empty band: no output depends on f_refine; keep α on the tape (zero gradient).
    if (indices.bandCount === 0) return tf.mul(tf.zeros(shape), this.alpha.read()) as tf.Tensor4D;
    let pre: tf.Tensor1D;
    if (pixelFeatures.shape[1] === h && pixelFeatures.shape[2] === w) {
      // f_comp is per pixel: compute it only at the pixels the feature taps read.
      const compact = compactFeatureTaps(indices.featureTaps, b * h * w);
      const pixelRows = tf.reshape(pixelFeatures, [b * h * w, this.settings.featureChannels]) as tf.Tensor2D;
      const compRows = this.fComp.forward(gatherRows(pixelRows, compact.pixels));
      pre = this.fRefine.forwardAtBandRows(maskLogits, compRows, { ...indices, featureTaps: compact.taps });
    } else {
      const compFeatures = this.compFeatures(pixelFeatures, h, w);
      pre = this.fRefine.forwardAtBand({ maskLogits, compFeatures }, indices);
    }
    const atBand = tf.reshape(tf.mul(tanhViaSigmoid(pre), this.alpha.read()), [indices.bandCount, 1]) as tf.Tensor2D;
    // Pixels outside the band are exact zeros of the scatter.
    const total = shape[0] * shape[1] * shape[2] * shape[3];
    return tf.reshape(scatterRows(atBand, indices.bandPixels, total), shape) as tf.Tensor4D;
  }

  /**
   * `B` and its values on the host, for band evaluation. A few masks (inference on the selected
   * one) with a fixed or relative threshold: computed on the host from the read-back
   * probabilities (same values as the kernels, without their ~8 small dispatches); otherwise by
   * the kernels, then read back.
   */
  private bandRead(maskLogits: tf.Tensor4D): { band: tf.Tensor4D; bandValues: ArrayLike<number> } {
    const s = this.settings;
    if (this.epsilonLogit || maskLogits.size > HOST_BAND_MAX_PIXELS) {
      const band = this.band(maskLogits);
      return { band, bandValues: band.dataSync() };
    }
    const mode = s.adaptiveThreshold === 'relative' ? 'relative' : 'off';
    const probs = tf.sigmoid(maskLogits).dataSync() as Float32Array;
    const bandValues = hostBoundaryBand(probs, maskLogits.shape, s.bandKernel, s.epsilon, mode);
    // Cut from the tape like the kernel path: the band passes exactly zero gradient to the logits.
    const band = withoutGradient(() => tf.tensor4d(bandValues, maskLogits.shape))(maskLogits);
    return { band, bandValues };
  }

  /** `B` for the configured threshold mode; never passes a gradient to `maskLogits`. */
  private band(maskLogits: tf.Tensor4D): tf.Tensor4D {
    const s = this.settings;
    const g = morphologicalGradient(tf.sigmoid(maskLogits), s.bandKernel);
    if (this.epsilonLogit) return learnedThresholdBand(g, this.epsilonLogit.read(), s.thresholdTemperature);
    return thresholdGradient(g, s.epsilon, s.adaptiveThreshold === 'relative' ? 'relative' : 'off');
  }

  /** Symbolic/`tf.model` use: `[maskLogits, pixelFeatures]` → `refinedLogits`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [maskLogits, pixelFeatures] = inputs as tf.Tensor[];
    return this.forward({ maskLogits: maskLogits as tf.Tensor4D, pixelFeatures: pixelFeatures as tf.Tensor4D })
      .refinedLogits;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0]!;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.settings };
  }
}
tf.serialization.registerClass(BoundaryAwareRefinement);
