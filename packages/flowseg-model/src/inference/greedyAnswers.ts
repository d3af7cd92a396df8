import type * as tf from '@tensorflow/tfjs';
import type { ConditionLanguageModel } from '../language/ConditionLanguageModel.js';
import { GreedyRows, decodeGreedyAsync } from '../language/greedyGenerate.js';

/**
 * Greedy decoding of token-id prompts of different lengths, as `greedyGenerateAsync` does it
 * (asynchronous reads: webgpu backends cannot read synchronously). The prompts are left-padded
 * with `padId` into one batch (masked out). The caller has checked the lengths.
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
  return decodeGreedyAsync(model, imageTokens, rows, maxNewTokens);
}
