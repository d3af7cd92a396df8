import * as tf from '@tensorflow/tfjs';
import { FlowSegError } from '../errors/FlowSegError.js';
import { nextTensorId } from './expectNoLeaks.js';

/** Thrown by {@link expectFiniteOrTypedError} when a call breaks the robustness contract. */
export class RobustnessViolation extends Error {}

/** What {@link expectFiniteOrTypedError} saw. */
export type RobustnessOutcome =
  | { readonly kind: 'finite' }
  | { readonly kind: 'error'; readonly error: FlowSegError };

/** Options of {@link expectFiniteOrTypedError}. */
export interface FiniteOrTypedErrorOptions {
  /**
   * Argument names an error may name; when given, a thrown {@link FlowSegError} must carry
   * one of them in its `argument` field (or in its message, for errors that name a nested
   * field such as `conditions.conditionMask`).
   */
  readonly arguments?: readonly string[];
  /**
   * Result tensors that may hold non-finite values: key paths (e.g. `['scores']`), or `true`
   * for all of them (a call given NaN/±Inf inputs: layers do not read their inputs back, so
   * on such input they must still fail cleanly and leak nothing, but may pass the NaN on).
   */
  readonly allowNonFinite?: readonly string[] | boolean;
}

function floatTensors(value: unknown, path: string, acc: Array<[string, tf.Tensor]>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) acc.push([path, value]);
    return;
  }
  if (value instanceof tf.layers.Layer) return;
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  for (const [k, v] of entries) floatTensors(v, path ? `${path}.${String(k)}` : String(k), acc, seen);
}

/**
 * The robustness contract of every public FlowSeg call, as a test helper: `fn` either
 * returns, and then every float tensor it returns holds only finite values, or it throws a
 * {@link FlowSegError} (a `ShapeError`, `DTypeError`, `ValueError`, …) that names the
 * offending argument. A raw TF.js error, a plain `Error`/`TypeError`, or a NaN/±Inf in the
 * result throws {@link RobustnessViolation}. Either way no tensor may be left behind: the
 * tensors the call created and returned are disposed here (inputs passed through are not) and `tf.memory().numTensors` must be back where it was
 * (warm lazy layers up before calling, so their variables do not count as a leak).
 *
 * Reads results synchronously (`dataSync`): use it on backends that allow that (cpu, wasm).
 */
export function expectFiniteOrTypedError(fn: () => unknown, options: FiniteOrTypedErrorOptions = {}): RobustnessOutcome {
  // Anything with a smaller id was an input (a layer may pass one through, e.g. an unchanged
  // condition mask) and is not ours to dispose.
  const firstNewId = nextTensorId();
  const before = tf.memory().numTensors;
  let outcome: RobustnessOutcome;
  try {
    const out = fn();
    const tensors: Array<[string, tf.Tensor]> = [];
    floatTensors(out, '', tensors, new Set());
    try {
      for (const [path, t] of tensors) {
        const allowed = options.allowNonFinite;
        if (t.dtype !== 'float32' || allowed === true || (Array.isArray(allowed) && allowed.includes(path))) continue;
        const data = t.dataSync() as Float32Array;
        const bad = data.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          throw new RobustnessViolation(`result ${path || '(tensor)'} [${t.shape.join(', ')}] holds ${data[bad]} at flat index ${bad}`);
        }
      }
    } finally {
      tf.dispose(tensors.map(([, t]) => t).filter((t) => t.id >= firstNewId));
    }
    outcome = { kind: 'finite' };
  } catch (e) {
    if (e instanceof RobustnessViolation) throw e;
    if (!(e instanceof FlowSegError)) {
      const name = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
      throw new RobustnessViolation(`expected finite results or a FlowSegError, but caught ${name}`);
    }
    const names = options.arguments;
    if (names && !names.some((a) => e.argument === a || e.message.includes(a))) {
      throw new RobustnessViolation(
        `${e.name} names ${e.argument === undefined ? 'no argument' : `"${e.argument}"`}, expected one of ${names.join(', ')}: ${e.message}`,
      );
    }
    outcome = { kind: 'error', error: e };
  }
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new RobustnessViolation(`leaked ${after - before} tensor(s) (${before} before, ${after} after)`);
  }
  return outcome;
}
