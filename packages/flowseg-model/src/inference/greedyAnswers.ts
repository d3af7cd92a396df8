import type * as tf from '@tensorflow/tfjs';
import type { ConditionLanguageModel } from '../language/ConditionLanguageModel.js';
import { GreedyRows, greedyNextTokens } from '../language/greedyGenerate.js';

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
  const rows = new GreedyRows(
    promptIds.map((r) => [...r]),
    promptMask.map((r) => [...r]),
    eosId,
  );
  for (let step = 0; step < maxNewTokens && !rows.finished; step++) {
    const next = greedyNextTokens(model, imageTokens, rows);
    try {
      rows.append(await next.data());
    } finally {
      next.dispose();
    }
  }
  return rows.generated;
}
