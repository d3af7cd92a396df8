import * as tf from '@tensorflow/tfjs';

/**
 * Run `fn` off the gradient tape: the result is a constant to any surrounding
 * `tf.grad`/`optimizer.minimize`, like PyTorch's `.detach()` / `torch.no_grad()`.
 *
 * Why a zero-input `customGrad`: TF.js has no stop-gradient op. Ops run inside a custom
 * gradient's forward are not recorded, and a tape node with no inputs is never on a path from
 * the variables, so comparison ops (which have no gradient) can produce masks that later feed
 * differentiable code without breaking backprop.
 *
 * @internal
 */
export function detached<T extends tf.Tensor>(fn: () => T): T {
  const run = tf.customGrad(() => ({ value: fn(), gradFunc: () => [] }));
  return run() as T;
}
