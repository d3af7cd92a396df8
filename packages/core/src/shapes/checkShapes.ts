import type * as tf from '@tensorflow/tfjs';
import { DTypeError } from '../errors/FlowSegError.js';
import { ShapeError } from './ShapeError.js';

/**
 * One axis of an expected shape: a symbolic name (`'batch'`) bound across all arguments of
 * one check, a fixed size (`256`), or a named fixed size (`{ name: 'channels', size: 256 }`).
 */
export type AxisSpec = string | number | NamedAxisSize;

/** A fixed axis size with a name used in error messages. */
export interface NamedAxisSize {
  /** Axis name shown in errors (`channels`). */
  readonly name: string;
  /** Required size. */
  readonly size: number;
}

/** What one argument must look like. */
export interface TensorSpec {
  /** The tensor to check (may be `null`/`undefined` only when `optional` is set). */
  readonly tensor: tf.Tensor | null | undefined;
  /** Expected axes, outermost first. */
  readonly axes: readonly AxisSpec[];
  /** Accepted dtypes; default: any. */
  readonly dtypes?: readonly tf.DataType[];
  /** When true, a missing tensor is accepted. */
  readonly optional?: boolean;
}

/** Sizes bound to symbolic axis names by {@link checkShapes}. */
export type AxisBindings = Record<string, number>;

function describe(axes: readonly AxisSpec[], bound: AxisBindings): string {
  return `[${axes
    .map((a) => {
      if (typeof a === 'number') return String(a);
      if (typeof a === 'string') return Object.hasOwn(bound, a) ? `${a}=${bound[a]}` : a;
      return `${a.name}=${a.size}`;
    })
    .join(', ')}]`;
}

/**
 * Check several tensor arguments at once against named axes, binding symbolic axis names
 * across arguments: `queries [batch, queries, channels]` and `memory [batch, pixels, channels]`
 * must agree on `batch` and `channels`. Throws {@link ShapeError} (rank or size mismatch) or
 * {@link DTypeError} naming the first offending argument.
 *
 * @param specs - argument name → spec, checked in insertion order.
 * @param preset - sizes already known (e.g. `{ channels: 256 }` from a layer's config).
 * @returns the bindings of every symbolic axis seen.
 *
 * @example
 * ```ts
 * const { batch } = checkShapes({
 *   queries: { tensor: q, axes: ['batch', 'queries', 'channels'] },
 *   memory: { tensor: m, axes: ['batch', 'pixels', 'channels'] },
 * }, { channels: 256 });
 * ```
 */
export function checkShapes(
  specs: Record<string, TensorSpec>,
  preset: AxisBindings = {},
): AxisBindings {
  // No prototype: axis names such as 'constructor' must not hit Object.prototype.
  const bound: AxisBindings = Object.assign(Object.create(null) as AxisBindings, preset);
  for (const [argument, spec] of Object.entries(specs)) {
    const t = spec.tensor;
    if (t == null) {
      if (spec.optional) continue;
      throw new ShapeError(argument, describe(spec.axes, bound), [], 'argument is missing');
    }
    if (spec.dtypes && !spec.dtypes.includes(t.dtype)) {
      throw new DTypeError(argument, spec.dtypes, t.dtype);
    }
    const shape = t.shape;
    if (shape.length !== spec.axes.length) {
      throw new ShapeError(
        argument,
        describe(spec.axes, bound),
        shape,
        `rank ${shape.length}, expected rank ${spec.axes.length}`,
      );
    }
    spec.axes.forEach((axis, i) => {
      const got = shape[i]!;
      if (typeof axis === 'number' || typeof axis === 'object') {
        const size = typeof axis === 'number' ? axis : axis.size;
        if (got !== size) {
          const label = typeof axis === 'number' ? `axis ${i}` : axis.name;
          throw new ShapeError(argument, describe(spec.axes, bound), shape, `${label}: ${got} ≠ ${size}`);
        }
        return;
      }
      const want = bound[axis];
      if (want === undefined) bound[axis] = got;
      else if (want !== got) {
        throw new ShapeError(argument, describe(spec.axes, bound), shape, `${axis}: ${got} ≠ ${want}`);
      }
    });
  }
  return bound;
}
