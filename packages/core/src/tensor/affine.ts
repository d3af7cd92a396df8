import * as tf from '@tensorflow/tfjs';
import { checkShapes } from '../shapes/checkShapes.js';

/**
 * `x·W + b` for a 2-D `x` `[rows, in]`, `W` `[in, out]`, `b` `[out]` (or no bias): `[rows, out]`.
 * The bias rides in the product's epilogue (`tf.fused.matMul`): one kernel and no broadcast add,
 * which on threaded wasm is a thread-pool dispatch of its own. Zero rows take the unfused ops
 * (wasm's fused kernel does not guard an empty product).
 * @throws ShapeError / DTypeError naming `x`, `kernel` or `bias` when shapes or dtypes disagree.
 */
export function affine(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D {
  checkShapes({
    x: { tensor: x, axes: ['rows', 'in'], dtypes: ['float32'] },
    kernel: { tensor: kernel, axes: ['in', 'out'], dtypes: ['float32'] },
    bias: { tensor: bias, axes: ['out'], dtypes: ['float32'], optional: true },
  });
  if (!bias) return tf.matMul(x, kernel) as tf.Tensor2D;
  if (x.shape[0] === 0) return tf.add(tf.matMul(x, kernel), bias) as tf.Tensor2D;
  return tf.fused.matMul({ a: x, b: kernel, bias }) as tf.Tensor2D;
}
