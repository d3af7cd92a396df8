import * as tf from '@tensorflow/tfjs';
import { FUSED_LAYER_NORM, type FusedLayerNormAttrs } from '../backend/wasm/layerNormKernel.js';
import { wasmKernelsFor } from '../backend/wasm/flowSegWasmKernels.js';
import type { WasmBackendLike } from '../backend/wasm/wasmHeap.js';
import { checkLastAxis } from '../shapes/checkLastAxis.js';
import { ShapeError } from '../shapes/ShapeError.js';
import { ValueError } from '../errors/FlowSegError.js';
import { requireFinite } from '../errors/requireValue.js';

/** `x̂ = (x − μ)/√(σ² + ε)` over the last axis, with `1/√(σ² + ε)` (both keep the axis). */
function normalized(x: tf.Tensor, epsilon: number): { xHat: tf.Tensor; rstd: tf.Tensor } {
  const { mean, variance } = tf.moments(x, -1, true);
  const rstd = tf.rsqrt(tf.add(variance, epsilon));
  return { xHat: tf.mul(tf.sub(x, mean), rstd), rstd };
}

// The fused kernel's gradient, from the saved input and γ: with g = dy·γ,
// dx = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε), dγ = Σ dy·x̂, dβ = Σ dy (sums over all but the last axis).
tf.registerGradient({
  kernelName: FUSED_LAYER_NORM,
  inputsToSave: ['x', 'gamma'],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma] = saved as [tf.Tensor, tf.Tensor];
    const epsilon = (attrs as unknown as FusedLayerNormAttrs).epsilon;
    const dyT = dy as tf.Tensor;
    const leading = x.shape.slice(0, -1).map((_, i) => i);
    return {
      x: () =>
        tf.tidy(() => {
          const { xHat, rstd } = normalized(x, epsilon);
          const g = tf.mul(dyT, gamma);
          const centred = tf.sub(g, tf.mean(g, -1, true));
          return tf.mul(tf.sub(centred, tf.mul(xHat, tf.mean(tf.mul(g, xHat), -1, true))), rstd);
        }),
      gamma: () => tf.tidy(() => tf.sum(tf.mul(dyT, normalized(x, epsilon).xHat), leading)),
      beta: () => tf.sum(dyT, leading),
    };
  },
});

/** Whether the active backend runs {@link FUSED_LAYER_NORM} (float32 only, as every caller checks). */
function fusedAvailable(): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(FUSED_LAYER_NORM, 'wasm')) return false;
  return wasmKernelsFor(tf.backend() as unknown as WasmBackendLike) !== null;
}

/** {@link layerNormalization} without argument checks (callers have checked). @internal */
export function normalizeLastAxis<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor<R> {
  if (fusedAvailable()) {
    const attrs: FusedLayerNormAttrs = { epsilon };
    return tf.engine().runKernel(FUSED_LAYER_NORM, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor<R>;
  }
  return tf.tidy(() => tf.add(tf.mul(normalized(x, epsilon).xHat, gamma), beta) as tf.Tensor<R>);
}

/**
 * Layer normalization over the last axis, `(x − μ)/√(σ² + ε)·γ + β` with the biased variance
 * (the function behind {@link LayerNorm}, for code that holds its own γ and β). One fused
 * kernel, with its own gradient, where the backend has it (wasm with core's kernels loaded);
 * TF.js ops elsewhere.
 * @param x - `[..., features]`, float32.
 * @param gamma - scale γ `[features]`, float32.
 * @param beta - shift β `[features]`, float32.
 * @param epsilon - added to the variance, finite and ≥ 0.
 * @returns `[..., features]`.
 * @throws {@link ShapeError} or {@link DTypeError} naming the argument when a shape or dtype
 * does not fit; {@link ValueError} for a bad `epsilon`.
 */
export function layerNormalization<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor<R> {
  if (x.rank === 0) throw new ShapeError('x', '[..., features]', x.shape, 'a scalar has no feature axis');
  const features = x.shape[x.rank - 1]!;
  checkLastAxis('x', x, features);
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    checkLastAxis(name, t, features);
    if (t.rank !== 1) throw new ShapeError(name, `[features=${features}]`, t.shape, `rank ${t.rank} ≠ 1`);
  }
  if (requireFinite(epsilon, 'epsilon') < 0) throw new ValueError(`epsilon: expected ≥ 0, received ${epsilon}`, 'epsilon');
  return normalizeLastAxis(x, gamma, beta, epsilon);
}
