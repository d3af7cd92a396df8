import * as tf from '@tensorflow/tfjs';

/**
 * Band with a learned threshold `ε = σ(θ)`: forward `B = 1[g > σ(θ)]` exactly (hard, 0/1),
 * backward a straight-through surrogate for θ only:
 * `∂B/∂θ := −σ'((g − ε)/τ) / τ · σ'(θ)` with `σ'(u) = σ(u)(1 − σ(u))`, i.e. the gradient of
 * the soft band `σ((g − ε)/τ)`. Pixels whose gradient `g` lies within a few τ of ε carry the
 * signal; `g` itself receives exactly zero gradient (it must already be cut from the tape).
 *
 * @param g - morphological gradient `[batch, masks, height, width]`, cut from the tape.
 * @param theta - threshold logit, scalar `[]`.
 * @param temperature - τ > 0 of the surrogate.
 * @returns the band `[batch, masks, height, width]`, float32 in {0, 1}.
 * @internal
 */
export function learnedThresholdBand(g: tf.Tensor4D, theta: tf.Tensor, temperature: number): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [gIn, thetaIn, save] = args as [tf.Tensor4D, tf.Scalar, tf.GradSaveFunc];
    save([gIn, thetaIn]);
    const value = tf.cast(tf.greater(gIn, tf.sigmoid(thetaIn)), 'float32') as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [gSaved, thetaSaved] = saved as [tf.Tensor4D, tf.Scalar];
      const eps = tf.sigmoid(thetaSaved);
      const soft = tf.sigmoid(tf.div(tf.sub(gSaved, eps), temperature));
      // dB/dε = −s(1−s)/τ; dε/dθ = ε(1−ε).
      const dBdEps = tf.div(tf.mul(soft, tf.sub(1, soft)), -temperature);
      const dEpsdTheta = tf.mul(eps, tf.sub(1, eps));
      const dTheta = tf.reshape(tf.mul(tf.sum(tf.mul(dy, dBdEps)), dEpsdTheta), thetaSaved.shape);
      return [tf.zerosLike(gSaved), dTheta];
    };
    return { value, gradFunc };
  });
  return op(g, theta) as tf.Tensor4D;
}
