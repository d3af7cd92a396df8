import { FlowSegError } from '@flowseg/core';

/** Which rule a token-id sequence broke; one value per {@link TokenSequenceError} subclass. */
export type TokenSequenceProblem =
  | 'unclosed-phrase'
  | 'unmatched-phrase-end'
  | 'nested-phrase'
  | 'empty-phrase'
  | 'seg-inside-phrase'
  | 'missing-seg'
  | 'token-out-of-range';

/**
 * A token-id sequence is malformed for FlowSeg (unbalanced or nested `<p>` tags, an empty
 * phrase, a missing `<SEG>`, an id outside the vocabulary). The message and the fields name
 * the batch item and the token position, so the offending sample can be found in a dataset.
 * Catch this class to handle every such case; the subclasses tell them apart.
 */
export class TokenSequenceError extends FlowSegError {
  /**
   * @param problem - which rule was broken.
   * @param batchIndex - index of the sequence in the batch.
   * @param position - token position (0-based) where the problem was detected.
   * @param detail - explanation, appended after the location.
   */
  constructor(
    readonly problem: TokenSequenceProblem,
    readonly batchIndex: number,
    readonly position: number,
    detail: string,
  ) {
    super(`tokenIds: batch item ${batchIndex}, position ${position}: ${detail}`, 'tokenIds');
  }
}

/** A `<p>` is never closed by `</p>`; `position` is the `<p>`. */
export class UnclosedPhraseError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - position of the unclosed `<p>`.
   */
  constructor(batchIndex: number, position: number) {
    super('unclosed-phrase', batchIndex, position, '<p> is never closed by </p>');
  }
}

/** A `</p>` arrives with no open `<p>`; `position` is the `</p>`. */
export class UnmatchedPhraseEndError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - position of the stray `</p>`.
   */
  constructor(batchIndex: number, position: number) {
    super('unmatched-phrase-end', batchIndex, position, '</p> without an open <p>');
  }
}

/** A `<p>` opens while another `<p>` is still open (phrases cannot nest); `position` is the inner `<p>`. */
export class NestedPhraseError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - position of the inner `<p>`.
   * @param openedAt - position of the `<p>` that is still open.
   */
  constructor(
    batchIndex: number,
    position: number,
    readonly openedAt: number,
  ) {
    super('nested-phrase', batchIndex, position, `nested <p> (the <p> at position ${openedAt} is still open)`);
  }
}

/**
 * A phrase `<p></p>` has no (non-padding) token between its tags; `position` is its `</p>`.
 * Thrown unless the parser's `emptyPhrase` option is `'drop'`.
 */
export class EmptyPhraseError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - position of the `</p>` closing the empty phrase.
   * @param openedAt - position of its `<p>`.
   */
  constructor(
    batchIndex: number,
    position: number,
    readonly openedAt: number,
  ) {
    super(
      'empty-phrase',
      batchIndex,
      position,
      `empty phrase: no token between <p> at position ${openedAt} and </p> (pass emptyPhrase: 'drop' to skip such phrases)`,
    );
  }
}

/** A `<SEG>` appears inside an open phrase; `position` is the `<SEG>`. */
export class SegInsidePhraseError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - position of the `<SEG>`.
   * @param openedAt - position of the enclosing `<p>`.
   */
  constructor(
    batchIndex: number,
    position: number,
    readonly openedAt: number,
  ) {
    super('seg-inside-phrase', batchIndex, position, `<SEG> inside the phrase opened at position ${openedAt}`);
  }
}

/**
 * A sequence has no `<SEG>` although the parser's `requireSeg` option is set; `position` is
 * the end of the sequence (its length), where a `<SEG>` was still expected.
 */
export class MissingSegError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - length of the sequence (one past its last token).
   */
  constructor(batchIndex: number, position: number) {
    super('missing-seg', batchIndex, position, `no <SEG> token before the end of the sequence (requireSeg is set)`);
  }
}

/**
 * A token id is not an integer in `[0, vocabSize)` (`[0, ∞)` when no `vocabSize` was given);
 * `position` is the offending token.
 */
export class TokenOutOfRangeError extends TokenSequenceError {
  /**
   * @param batchIndex - index of the sequence in the batch.
   * @param position - position of the offending id.
   * @param id - the id that arrived.
   * @param vocabSize - the vocabulary size checked against, if any.
   */
  constructor(
    batchIndex: number,
    position: number,
    readonly id: number,
    readonly vocabSize: number | null,
  ) {
    super(
      'token-out-of-range',
      batchIndex,
      position,
      `token id ${id} is not an integer in [0, ${vocabSize ?? '∞'})`,
    );
  }
}
