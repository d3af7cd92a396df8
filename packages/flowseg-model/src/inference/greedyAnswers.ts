import type * as tf from '@tensorflow/tfjs';
import type { ConditionLanguageModel } from '../language/ConditionLanguageModel.js';
import { GreedyRows, greedyNextTokens } from '../language/greedyGenerate.js';

/**
 * Greedy decoding as `greedyGenerate` does it (append `argmax(logits[:, last])` until every row
 * has produced `eosId` or `maxNewTokens` tokens; finished rows keep being fed `eosId`), but
 * reading each step's tokens with `await data()`: webgpu backends cannot read synchronously.
 * The prompts are left-padded with `padId` into one batch (masked out). The caller has checked
 * the lengths.
 * @returns per row, the generated ids (`eosId` last if produced).
 */
export async function greedyAnswers(
  model: ConditionLanguageModel,
  imageTokens: tf.Tensor3D,
  prompts: readonly (readonly number[])[],
  padId: number,
  maxNewTokens: number,
  eosId: number,
): Promise<number[][]> {
  const longest = Math.max(...prompts.map((p) => p.length));
  const rows = new GreedyRows(
    prompts.map((p) => [...new Array<number>(longest - p.length).fill(padId), ...p]),
    prompts.map((p) => Array.from({ length: longest }, (_, t) => (t >= longest - p.length ? 1 : 0))),
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
