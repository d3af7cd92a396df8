import { ValueError } from '@flowseg/core';
import {
  EmptyPhraseError,
  MissingSegError,
  NestedPhraseError,
  SegInsidePhraseError,
  TokenOutOfRangeError,
  UnclosedPhraseError,
  UnmatchedPhraseEndError,
} from '../errors/TokenSequenceError.js';
import { validateSpecialTokenIds, type SpecialTokenIds } from './SpecialTokenIds.js';
import { readMaskRows, readTokenRows, type TokenIdsInput, type TokenMaskInput } from './tokenRows.js';

/** What to do with a phrase that has no token between `<p>` and `</p>`. */
export type EmptyPhrasePolicy = 'error' | 'drop';

/** Options of {@link parseSpecialTokens}. */
export interface ParseSpecialTokensOptions {
  /** Ids of `<p>`, `</p>` and `<SEG>` in the tokenizer. */
  readonly specialTokens: SpecialTokenIds;
  /** Padding mask, `1` = real token, `0` = padding (see {@link TokenMaskInput}). */
  readonly attentionMask?: TokenMaskInput | null;
  /** Id of the padding token: positions holding it are padding. Combined with `attentionMask` by "either says padding". */
  readonly padId?: number | null;
  /** Vocabulary size: every non-padding id must lie in `[0, vocabSize)`. Default: only non-negative integers are checked. */
  readonly vocabSize?: number | null;
  /** Every sequence must contain at least one `<SEG>` (default false). */
  readonly requireSeg?: boolean;
  /** `'error'` (default): an empty phrase throws {@link EmptyPhraseError}; `'drop'`: it is skipped. */
  readonly emptyPhrase?: EmptyPhrasePolicy;
}

/** One `<p> … </p>` phrase found in a sequence. */
export interface PhraseSpan {
  /** Position of its `<p>` token. */
  readonly open: number;
  /** Position of its `</p>` token. */
  readonly close: number;
  /** Positions strictly between `<p>` and `</p>` that are not padding, ascending (never empty). */
  readonly content: readonly number[];
  /**
   * Index (into the sequence's `segPositions`) of the `<SEG>` this phrase is tied to: the
   * first `<SEG>` after its `</p>`; `null` when no `<SEG>` follows it.
   */
  readonly seg: number | null;
}

/** What {@link parseSpecialTokens} found in one sequence. */
export interface ParsedSequence {
  /** Number of token positions in the row (padding included). */
  readonly length: number;
  /** `1` = real token, `0` = padding, one entry per position. */
  readonly tokenMask: Uint8Array;
  /** Phrases in order of their `<p>`. */
  readonly spans: readonly PhraseSpan[];
  /** Positions of the `<SEG>` tokens, ascending; `<SEG>` k is target k. */
  readonly segPositions: readonly number[];
  /**
   * For each `<SEG>` k, the indices (into `spans`) of the phrases it is conditioned on: the
   * phrases that close after `<SEG>` k−1 and before `<SEG>` k; when there are none, all
   * phrases of the sequence (possibly none).
   */
  readonly segSpans: readonly (readonly number[])[];
}

/** What {@link parseSpecialTokens} found in a batch. */
export interface ParsedTokens {
  /** One entry per sequence. */
  readonly items: readonly ParsedSequence[];
  /** Number of sequences. */
  readonly batch: number;
  /** Longest row length (`tokens` axis of a padded batch). */
  readonly tokens: number;
  /** Most phrases in any sequence (0 when no sequence has a phrase). */
  readonly maxSpans: number;
  /** Most `<SEG>` tokens in any sequence (0 when none has one). */
  readonly maxSeg: number;
}

function optionalNonNegativeInt(value: number | null | undefined, argument: string, positive = false): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < (positive ? 1 : 0)) {
    throw new ValueError(
      `${argument}: expected a ${positive ? 'positive' : 'non-negative'} integer, received ${String(value)}`,
      argument,
    );
  }
  return value;
}

/**
 * Find phrase spans (`<p> … </p>`) and `<SEG>` positions in a batch of token-id sequences.
 * Pure JavaScript: usable without tensors (a tensor input is read back once).
 *
 * Rules, each violation a {@link TokenSequenceError} subclass naming the batch item and the
 * position: phrases do not nest and every `<p>` is closed; a `<SEG>` never sits inside a
 * phrase; a phrase holds at least one token (unless `emptyPhrase: 'drop'`); with
 * `requireSeg`, every sequence holds a `<SEG>`; ids are integers in `[0, vocabSize)`.
 *
 * Padding positions (mask 0, or id equal to `padId`, or beyond a shorter row's end) are
 * invisible: they are never checked, never tags, and never part of a phrase's `content`, so a
 * phrase may straddle padding. Ties of `<SEG>`s to phrases: see {@link ParsedSequence.segSpans}.
 *
 * @example
 * ```ts
 * const ids = { phraseStart: 5, phraseEnd: 6, seg: 7 };
 * const parsed = parseSpecialTokens([[1, 5, 20, 21, 6, 7, 0]], { specialTokens: ids, padId: 0 });
 * parsed.items[0].spans; // [{ open: 1, close: 4, content: [2, 3], seg: 0 }]
 * parsed.items[0].segPositions; // [5]
 * ```
 */
export function parseSpecialTokens(tokenIds: TokenIdsInput, options: ParseSpecialTokensOptions): ParsedTokens {
  if (options == null || typeof options !== 'object') {
    throw new ValueError('options: expected { specialTokens, ... }', 'options');
  }
  const vocabSize = optionalNonNegativeInt(options.vocabSize, 'vocabSize', true);
  const padId = optionalNonNegativeInt(options.padId, 'padId');
  if (padId !== null && vocabSize !== null && padId >= vocabSize) {
    throw new ValueError(`padId: id ${padId} is outside the vocabulary [0, ${vocabSize})`, 'padId');
  }
  const { specialTokens } = options;
  validateSpecialTokenIds(specialTokens, vocabSize, padId);
  const emptyPhrase = options.emptyPhrase ?? 'error';
  if (emptyPhrase !== 'error' && emptyPhrase !== 'drop') {
    throw new ValueError(`emptyPhrase: expected 'error' or 'drop', received ${String(emptyPhrase)}`, 'emptyPhrase');
  }
  const requireSeg = options.requireSeg ?? false;
  if (typeof requireSeg !== 'boolean') {
    throw new ValueError(`requireSeg: expected a boolean, received ${String(requireSeg)}`, 'requireSeg');
  }

  const rows = readTokenRows(tokenIds);
  const masks = options.attentionMask != null ? readMaskRows(options.attentionMask, rows) : null;
  const items = rows.map((row, b) =>
    parseSequence(row, b, masks?.[b] ?? null, { specialTokens, padId, vocabSize, requireSeg, emptyPhrase }),
  );
  return {
    items,
    batch: items.length,
    tokens: items.reduce((m, it) => Math.max(m, it.length), 0),
    maxSpans: items.reduce((m, it) => Math.max(m, it.spans.length), 0),
    maxSeg: items.reduce((m, it) => Math.max(m, it.segPositions.length), 0),
  };
}

interface SequenceRules {
  specialTokens: SpecialTokenIds;
  padId: number | null;
  vocabSize: number | null;
  requireSeg: boolean;
  emptyPhrase: EmptyPhrasePolicy;
}

function parseSequence(row: ArrayLike<number>, b: number, mask: Uint8Array | null, rules: SequenceRules): ParsedSequence {
  const { phraseStart, phraseEnd, seg } = rules.specialTokens;
  const n = row.length;
  const tokenMask = new Uint8Array(n);
  const spans: Array<{ open: number; close: number; content: number[] }> = [];
  const segPositions: number[] = [];
  let open = -1;
  let content: number[] = [];
  for (let t = 0; t < n; t++) {
    const id = row[t]!;
    if ((mask !== null && mask[t] === 0) || (rules.padId !== null && id === rules.padId)) continue;
    tokenMask[t] = 1;
    if (!Number.isInteger(id) || id < 0 || (rules.vocabSize !== null && id >= rules.vocabSize)) {
      throw new TokenOutOfRangeError(b, t, id, rules.vocabSize);
    }
    if (id === phraseStart) {
      if (open >= 0) throw new NestedPhraseError(b, t, open);
      open = t;
      content = [];
    } else if (id === phraseEnd) {
      if (open < 0) throw new UnmatchedPhraseEndError(b, t);
      if (content.length > 0) spans.push({ open, close: t, content });
      else if (rules.emptyPhrase === 'error') throw new EmptyPhraseError(b, t, open);
      open = -1;
    } else if (id === seg) {
      if (open >= 0) throw new SegInsidePhraseError(b, t, open);
      segPositions.push(t);
    } else if (open >= 0) {
      content.push(t);
    }
  }
  if (open >= 0) throw new UnclosedPhraseError(b, open);
  if (rules.requireSeg && segPositions.length === 0) throw new MissingSegError(b, n);

  // Tie rule: a phrase belongs to the first <SEG> after its </p>.
  let k = 0;
  const tied = spans.map((s) => {
    while (k < segPositions.length && segPositions[k]! < s.close) k++;
    return { ...s, seg: k < segPositions.length ? k : null };
  });
  const all = tied.map((_, i) => i);
  const segSpans = segPositions.map((_, j) => {
    const own = tied.flatMap((s, i) => (s.seg === j ? [i] : []));
    return own.length > 0 ? own : all;
  });
  return { length: n, tokenMask, spans: tied, segPositions, segSpans };
}
