import { ValueError } from '@flowseg/core';

/**
 * Ids of FlowSeg's special tokens in the user's tokenizer. They are assigned when the tokens
 * `<p>`, `</p>` and `<SEG>` are added to the vocabulary (e.g. with a Hugging Face tokenizer's
 * `add_tokens`), so FlowSeg never assumes fixed values.
 */
export interface SpecialTokenIds {
  /** Id of `<p>`, which opens a phrase. */
  readonly phraseStart: number;
  /** Id of `</p>`, which closes a phrase. */
  readonly phraseEnd: number;
  /** Id of `<SEG>`, whose hidden state becomes a segmentation embedding. */
  readonly seg: number;
}

/**
 * Check that special-token ids are distinct non-negative integers, below `vocabSize` when
 * given and different from `padId` when given; throws {@link ValueError} otherwise.
 *
 * @param ids - the ids to check.
 * @param vocabSize - vocabulary size, or `null` for no upper bound.
 * @param padId - padding id, or `null` when padding is not given by id.
 * @param argument - argument name used in error messages.
 */
export function validateSpecialTokenIds(
  ids: SpecialTokenIds,
  vocabSize: number | null = null,
  padId: number | null = null,
  argument = 'specialTokens',
): void {
  if (ids == null || typeof ids !== 'object') {
    throw new ValueError(`${argument}: expected { phraseStart, phraseEnd, seg }, received ${String(ids)}`, argument);
  }
  const entries = [
    ['phraseStart', ids.phraseStart],
    ['phraseEnd', ids.phraseEnd],
    ['seg', ids.seg],
  ] as const;
  for (const [key, id] of entries) {
    if (!Number.isInteger(id) || id < 0) {
      throw new ValueError(`${argument}.${key}: expected a non-negative integer token id, received ${String(id)}`, argument);
    }
    if (vocabSize !== null && id >= vocabSize) {
      throw new ValueError(`${argument}.${key}: id ${id} is outside the vocabulary [0, ${vocabSize})`, argument);
    }
    if (padId !== null && id === padId) {
      throw new ValueError(`${argument}.${key}: id ${id} equals padId`, argument);
    }
  }
  if (new Set(entries.map(([, id]) => id)).size !== entries.length) {
    throw new ValueError(
      `${argument}: ids must be distinct, received phraseStart=${ids.phraseStart}, phraseEnd=${ids.phraseEnd}, seg=${ids.seg}`,
      argument,
    );
  }
}
