import * as tf from '@tensorflow/tfjs';
import { backendReadsSynchronously } from '@flowseg/core';
import type { FlowSegModel } from '@flowseg/flowseg-model';

/**
 * Local workarounds for WebGPU, which cannot read a tensor synchronously (`dataSync`): in Node
 * it has no way to, and in headless Chromium the canvas-based read returned zeros and then lost
 * the device. Two library paths read synchronously — BAR's default band evaluation (it reads the
 * band to list its pixels) and `TinyCausalLM.generate` (one `dataSync` per token) — so on such a
 * backend this page switches BAR to its documented read-back-free `evaluation: 'dense'` (same
 * ΔM, computed everywhere and masked) and generates with {@link generateGreedy} instead.
 */
export function avoidSynchronousReads(model: FlowSegModel): void {
  const bar = model.bar;
  if (!bar || backendReadsSynchronously() || bar.settings.evaluation === 'dense') return;
  Object.defineProperty(bar, 'settings', { value: Object.freeze({ ...bar.settings, evaluation: 'dense' }) });
}

/**
 * Greedy decoding of one row, reading each token with `await data()`: the same result as
 * `model.languageModel.generate` (append `argmax` of the last position until `eosId` or
 * `maxNewTokens`), without synchronous reads, and yielding to the event loop between tokens.
 *
 * @param imageTokens - `[1, imageTokens, hidden]` image prefix.
 * @param promptIds - prompt ids (with `<bos>`).
 * @returns generated ids (`eosId` last when it was produced).
 */
export async function generateGreedy(
  model: FlowSegModel,
  imageTokens: tf.Tensor3D,
  promptIds: readonly number[],
  maxNewTokens: number,
  eosId: number,
): Promise<number[]> {
  const lm = model.languageModel;
  const ids = [...promptIds];
  const generated: number[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const next = tf.tidy(() => {
      const tokenIds = tf.tensor2d([ids], [1, ids.length], 'int32');
      const logits = lm.logits({ imageTokens, tokenIds });
      const last = tf.slice(logits, [0, ids.length - 1, 0], [1, 1, lm.vocabSize]);
      return tf.argMax(tf.reshape(last, [lm.vocabSize]));
    });
    const id = (await next.data())[0]!;
    next.dispose();
    ids.push(id);
    generated.push(id);
    if (id === eosId) break;
  }
  return generated;
}
