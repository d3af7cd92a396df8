import * as tf from '@tensorflow/tfjs';
import { backendKeepsDataOnHost } from '@flowseg/core';

/**
 * Key padding mask for attention over conditions: bool `[batch, conditions]`, `true` where
 * `conditionMask ≤ 0` (padding; a mask entry counts as a real condition when it is > 0).
 */
export function conditionPaddingMask(conditionMask: tf.Tensor2D): tf.Tensor2D {
  return tf.lessEqual(conditionMask, 0);
}

/**
 * Which batch items have at least one real condition: bool `[batch, 1, 1]`, ready to
 * broadcast over `[batch, rows, channels]`.
 */
export function itemHasConditions(conditionMask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b] = conditionMask.shape;
    return tf.reshape(tf.greater(tf.max(conditionMask, 1), 0), [b, 1, 1]) as tf.Tensor3D;
  });
}

/**
 * True when every slot of every item holds a real condition (`conditionMask > 0` throughout),
 * as far as can be known without a device round trip: read on host-memory backends (cpu,
 * wasm; 4 bytes per slot), `false` elsewhere. With every slot real, padding and the
 * no-condition blends are identities, so SR and CR skip them (fewer kernels, same values).
 */
export function conditionsKnownAllReal(conditionMask: tf.Tensor2D): boolean {
  if (!backendKeepsDataOnHost()) return false;
  // Every BSF layer's SR and CR ask about the same (immutable) mask tensor: read it once.
  let allReal = knownAllReal.get(conditionMask);
  if (allReal === undefined) {
    allReal = (conditionMask.dataSync() as Float32Array).every((m) => m > 0);
    knownAllReal.set(conditionMask, allReal);
  }
  return allReal;
}

/** Answers of {@link conditionsKnownAllReal} per mask tensor (tensors never change their values). */
const knownAllReal = new WeakMap<tf.Tensor2D, boolean>();
