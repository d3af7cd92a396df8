import type * as tf from '@tensorflow/tfjs';
import { DTypeError } from '../errors/FlowSegError.js';
import { ShapeError } from './ShapeError.js';

/**
 * Check a float32 tensor of any rank ≥ 1 whose last axis must have `size` entries
 * (`[..., features]`), for layers that map over the last axis.
 */
export function checkLastAxis(argument: string, x: tf.Tensor, size: number, axisName = 'features'): void {
  if (x.dtype !== 'float32') throw new DTypeError(argument, ['float32'], x.dtype);
  const last = x.shape[x.rank - 1];
  if (x.rank === 0 || last !== size) {
    throw new ShapeError(
      argument,
      `[..., ${axisName}=${size}]`,
      x.shape,
      x.rank === 0 ? 'a scalar has no feature axis' : `${axisName}: ${last} ≠ ${size}`,
    );
  }
}
