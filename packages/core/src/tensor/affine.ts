import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes/checkShapes.js';
import { ValueError } from '../errors/FlowSegError.js';

/** Activation {@link affine} can apply in the product's epilogue (the ones TF.js's fused product can also differentiate). */
export type AffineActivation = 'linear' | 'relu';

/**
 * `act(x·W + b)` for a 2-D `x` `[rows, in]`, `W` `[in, out]`, `b` `[out]` (or no bias): `[rows, out]`.
 * The bias and the activation ride in the product's epilogue (`tf.fused.matMul`): one kernel,
 * no broadcast add or separate `Relu`, each of which on threaded wasm is a thread-pool dispatch
 * of its own. Zero rows take the unfused ops (wasm's fused kernel does not guard an empty product).
 * @param activation - `'linear'` (default) or `'relu'`.
 * @throws ShapeError / DTypeError naming `x`, `kernel` or `bias` when shapes or dtypes disagree;
 * ValueError naming `activation` for another activation.
 */
export function affine(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | null, activation: AffineActivation = 'linear'): tf.Tensor2D {
  checkShapes({
    x: { tensor: x, axes: ['rows', 'in'], dtypes: ['float32'] },
    kernel: { tensor: kernel, axes: ['in', 'out'], dtypes: ['float32'] },
    bias: { tensor: bias, axes: ['out'], dtypes: ['float32'], optional: true },
  });
  if (activation !== 'linear' && activation !== 'relu') {
    throw new ValueError(`activation: expected 'linear' or 'relu', received ${String(activation)}`, 'activation');
  }
  if (x.shape[0] === 0) {
    const y = bias ? tf.add(tf.matMul(x, kernel), bias) : tf.matMul(x, kernel);
    return (activation === 'relu' ? tf.relu(y) : y) as tf.Tensor2D;
  }
  if (!bias && activation === 'linear') return tf.matMul(x, kernel) as tf.Tensor2D;
  return tf.fused.matMul({ a: x, b: kernel, ...(bias ? { bias } : {}), activation }) as tf.Tensor2D;
}
