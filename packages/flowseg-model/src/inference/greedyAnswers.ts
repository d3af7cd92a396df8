import * as tf from '@tensorflow/tfjs';
import type { ConditionLanguageModel } from '../language/ConditionLanguageModel.js';

/**
 * Greedy decoding as `greedyGenerate` does it (append `argmax(logits[:, last])` until every row
 * has produced `eosId` or `maxNewTokens` tokens; finished rows keep being fed `eosId`), but
 * reading each step's tokens with `await data()`: webgpu backends cannot read synchronously.
 * Prompts are left-padded (`mask` 0 before the text). The caller has checked the lengths.
 * @returns per row, the generated ids (`eosId` last if produced).
 */
export async function greedyAnswers(
  model: ConditionLanguageModel,
  imageTokens: tf.Tensor3D,
  promptIds: readonly (readonly number[])[],
  promptMask: readonly (readonly number[])[],
  maxNewTokens: number,
  eosId: number,
): Promise<number[][]> {
  const batch = promptIds.length;
  const ids = promptIds.map((r) => [...r]);
  const mask = promptMask.map((r) => [...r]);
  const out: number[][] = Array.from({ length: batch }, () => []);
  const done = new Array<boolean>(batch).fill(false);
  for (let step = 0; step < maxNewTokens && done.includes(false); step++) {
    const nextTensor = tf.tidy(() => {
      const length = ids[0]!.length;
      const tokenIds = tf.tensor2d(ids, [batch, length], 'int32');
      const attentionMask = tf.tensor2d(mask, [batch, length], 'int32');
      const logits = model.logits({ imageTokens, tokenIds, attentionMask });
      const last = tf.slice(logits, [0, length - 1, 0], [batch, 1, model.vocabSize]);
      return tf.argMax(tf.reshape(last, [batch, model.vocabSize]), -1);
    });
    const next = await nextTensor.data();
    nextTensor.dispose();
    for (let r = 0; r < batch; r++) {
      const token = done[r] ? eosId : next[r]!;
      ids[r]!.push(token);
      mask[r]!.push(1);
      if (!done[r]) {
        out[r]!.push(token);
        if (token === eosId) done[r] = true;
      }
    }
  }
  return out;
}
