import type { WordTokenizer } from '../tokenizer/WordTokenizer.js';
import { ValueError } from '@flowseg/core';

/** A padded batch of `<bos> prompt answer <eos>` sequences for teacher forcing. */
export interface SequenceBatch {
  /** Token ids `[batch][tokens]`, right-padded with `<pad>`. */
  readonly ids: number[][];
  /** `[batch][tokens]` 1 = real token. */
  readonly attentionMask: number[][];
  /** `[batch][tokens]` 1 = answer token (or its `<eos>`): what the next-token loss predicts. */
  readonly lossMask: number[][];
}

/**
 * Tokenize prompts and answers as `<bos> prompt answer <eos>`, right-padded to the longest
 * row; the loss mask marks the answer and `<eos>`.
 * @throws ValueError when a sequence exceeds `maxTokens`.
 */
export function sequenceBatch(
  tokenizer: WordTokenizer,
  pairs: readonly { prompt: string; answer: string }[],
  maxTokens: number,
): SequenceBatch {
  const rows = pairs.map(({ prompt, answer }, i) => {
    const p = tokenizer.encode(prompt, { addBos: true });
    const a = tokenizer.encode(answer, { addEos: true });
    if (p.length + a.length > maxTokens) {
      throw new ValueError(`pairs[${i}]: ${p.length + a.length} tokens exceed the model's ${maxTokens}`, 'pairs');
    }
    return { ids: [...p, ...a], answerStart: p.length };
  });
  const length = Math.max(...rows.map((r) => r.ids.length));
  return {
    ids: rows.map((r) => [...r.ids, ...new Array<number>(length - r.ids.length).fill(tokenizer.padId)]),
    attentionMask: rows.map((r) => Array.from({ length }, (_, t) => (t < r.ids.length ? 1 : 0))),
    lossMask: rows.map((r) => Array.from({ length }, (_, t) => (t >= r.answerStart && t < r.ids.length ? 1 : 0))),
  };
}
