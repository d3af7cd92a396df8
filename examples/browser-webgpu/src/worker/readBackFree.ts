import * as tf from '@tensorflow/tfjs';
import type { FlowSegModel } from '@flowseg/flowseg-model';

// Read-back-free generation for WebGPU, which cannot read a tensor synchronously (`dataSync`):
// in Node it has no way to, and in headless Chromium the canvas-based read returned zeros and
// then lost the device. `TinyCausalLM.generate` reads one token per step with `dataSync`, so
// this page generates with generateGreedy instead. (BAR needs nothing: on such a backend it
// evaluates densely by itself.)

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
