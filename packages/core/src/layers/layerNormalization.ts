import * as tf from '@tensorflow/tfjs';
import { FUSED_ADD_LAYER_NORM, FUSED_LAYER_NORM, type FusedLayerNormAttrs } from '../backend/wasm/layerNormKernel.js';
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

/**
 * The fused kernels' gradient from `x`, `γ` and the residual if any: with s = x (+ residual),
 * g = dy·γ, ds = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε) (to x and to the residual alike),
 * dγ = Σ dy·x̂, dβ = Σ dy (sums over all but the last axis). `x̂` and `ds` are computed once, in
 * the backward pass's scope; the residual gets its own handle on `ds` (a clone shares the data),
 * since the tape may dispose one input's gradient while accumulating another's.
 */
function fusedGradient(dy: tf.Tensor, x: tf.Tensor, gamma: tf.Tensor, residual: tf.Tensor | null, epsilon: number) {
  const leading = x.shape.slice(0, -1).map((_, i) => i);
  const { xHat, ds } = tf.tidy(() => {
    const n = normalized(residual ? tf.add(x, residual) : x, epsilon);
    const g = tf.mul(dy, gamma);
    const centred = tf.sub(g, tf.mean(g, -1, true));
    return { xHat: n.xHat, ds: tf.mul(tf.sub(centred, tf.mul(n.xHat, tf.mean(tf.mul(g, n.xHat), -1, true))), n.rstd) };
  });
  return {
    x: () => ds,
    gamma: () => tf.sum(tf.mul(dy, xHat), leading),
    beta: () => tf.sum(dy, leading),
    ...(residual ? { residual: () => tf.clone(ds) } : {}),
  };
}

const epsilonOf = (attrs: unknown) => (attrs as FusedLayerNormAttrs).epsilon;
tf.registerGradient({
  kernelName: FUSED_LAYER_NORM,
  inputsToSave: ['x', 'gamma'],
  gradFunc: (dy, [x, gamma], attrs) => fusedGradient(dy as tf.Tensor, x!, gamma!, null, epsilonOf(attrs)),
});
tf.registerGradient({
  kernelName: FUSED_ADD_LAYER_NORM,
  inputsToSave: ['x', 'gamma', 'residual'],
  gradFunc: (dy, [x, gamma, residual], attrs) => fusedGradient(dy as tf.Tensor, x!, gamma!, residual!, epsilonOf(attrs)),
});

/** Whether the active backend runs the fused kernels (float32 only, as every caller checks). */
function fusedAvailable(): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(FUSED_LAYER_NORM, 'wasm')) return false;
  return wasmKernelsFor(tf.backend() as unknown as WasmBackendLike) !== null;
}

/** {@link layerNormalization} without argument checks (callers have checked). @internal */
export function normalizeLastAxis<R extends tf.Rank>(
  x: tf.Tensor<R>,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  residual?: tf.Tensor<R> | null,
): tf.Tensor<R> {
  if (fusedAvailable()) {
    const attrs: FusedLayerNormAttrs = { epsilon };
    const named = attrs as unknown as tf.NamedAttrMap;
    if (residual) return tf.engine().runKernel(FUSED_ADD_LAYER_NORM, { x, gamma, beta, residual }, named) as tf.Tensor<R>;
    return tf.engine().runKernel(FUSED_LAYER_NORM, { x, gamma, beta }, named) as tf.Tensor<R>;
  }
  return tf.tidy(() => tf.add(tf.mul(normalized(residual ? tf.add(x, residual) : x, epsilon).xHat, gamma), beta) as tf.Tensor<R>);
}

/**
 * Layer normalization over the last axis, `(s − μ)/√(σ² + ε)·γ + β` of `s = x` or, with a
 * `residual`, of `s = x + residual` (a post-norm block's `norm(x + f(x))` in one step), with
 * the biased variance. The function behind {@link LayerNorm}, for code that holds its own γ
 * and β. One fused kernel, with its own gradient, where the backend has it (wasm with core's
 * kernels loaded); TF.js ops elsewhere.
 * @param x - `[..., features]`, float32.
 * @param gamma - scale γ `[features]`, float32.
 * @param beta - shift β `[features]`, float32.
 * @param epsilon - added to the variance, finite and ≥ 0.
 * @param residual - added to `x` before normalizing: `[..., features]`, the shape of `x`, float32.
 * @returns `[..., features]`.
 * @throws {@link ShapeError} or {@link DTypeError} naming the argument when a shape or dtype
 * does not fit; {@link ValueError} for a bad `epsilon`.
 */
export function layerNormalization<R extends tf.Rank>(
  x: tf.Tensor<R>,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  residual?: tf.Tensor<R> | null,
): tf.Tensor<R> {
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
  if (residual) checkResidual(x, residual);
  if (requireFinite(epsilon, 'epsilon') < 0) throw new ValueError(`epsilon: expected ≥ 0, received ${epsilon}`, 'epsilon');
  return normalizeLastAxis(x, gamma, beta, epsilon, residual);
}

/** Throw a {@link ShapeError} / {@link DTypeError} naming `residual` unless it is float32 with exactly the shape of `x`. */
export function checkResidual(x: tf.Tensor, residual: tf.Tensor): void {
  checkLastAxis('residual', residual, x.shape[x.rank - 1]!);
  if (!tf.util.arraysEqual(residual.shape, x.shape)) {
    throw new ShapeError('residual', `[${x.shape.join(', ')}] (the shape of x)`, residual.shape, 'no broadcasting');
  }
}
