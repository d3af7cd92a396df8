import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DTypeError, FlowSegError, ShapeError, ValueError, selectBackend } from '@flowseg/core';
import {
  EmptyPhraseError,
  MissingSegError,
  NestedPhraseError,
  SegInsidePhraseError,
  TokenOutOfRangeError,
  TokenSequenceError,
  UnclosedPhraseError,
  UnmatchedPhraseEndError,
  parseSpecialTokens,
  type ParseSpecialTokensOptions,
} from '@flowseg/llm-condition-adapter';
import { E, IDS, P, PAD, S } from './helpers.js';

const opts: ParseSpecialTokensOptions = { specialTokens: IDS, padId: PAD };

function parseOne(row: number[], extra: Partial<ParseSpecialTokensOptions> = {}) {
  return parseSpecialTokens([row], { ...opts, ...extra }).items[0]!;
}

/** Run `fn`, expect a throw of `cls`, return the error. */
function thrown<T extends Error>(fn: () => unknown, cls: new (...args: never[]) => T): T {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as T;
  }
  throw new Error('expected a throw');
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('parseSpecialTokens: spans and SEGs', () => {
  it('finds one phrase and one SEG', () => {
    const it0 = parseOne([10, P, 11, 12, E, S]);
    expect(it0.spans).toEqual([{ open: 1, close: 4, content: [2, 3], seg: 0 }]);
    expect(it0.segPositions).toEqual([5]);
    expect(it0.segSpans).toEqual([[0]]);
    expect(Array.from(it0.tokenMask)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('ties several phrases to several SEGs by the documented rule', () => {
    //          0  1   2  3  4   5   6  7  8   9  10  11 12 13 14  15
    const row = [P, 11, E, P, 12, 13, E, S, 14, P, 15, E, S, P, 16, E];
    const it0 = parseOne(row);
    expect(it0.spans).toEqual([
      { open: 0, close: 2, content: [1], seg: 0 },
      { open: 3, close: 6, content: [4, 5], seg: 0 },
      { open: 9, close: 11, content: [10], seg: 1 },
      { open: 13, close: 15, content: [14], seg: null }, // after the last SEG: tied to none
    ]);
    expect(it0.segPositions).toEqual([7, 12]);
    expect(it0.segSpans).toEqual([[0, 1], [2]]);
  });

  it('a SEG with no phrase of its own is tied to every phrase of the sequence', () => {
    const it0 = parseOne([P, 11, E, S, 20, S, P, 12, E]);
    expect(it0.segPositions).toEqual([3, 5]);
    expect(it0.segSpans).toEqual([[0], [0, 1]]);
    expect(parseOne([20, S, 21]).segSpans).toEqual([[]]);
  });

  it('handles right padding (padId), left padding (mask) and ragged rows in one batch', () => {
    const parsed = parseSpecialTokens(
      [
        [P, 11, E, S, PAD, PAD],
        [7, 7, P, 12, E, S],
        [P, 13, 14, E],
      ],
      {
        ...opts,
        attentionMask: [
          [1, 1, 1, 1, 0, 0],
          [0, 0, 1, 1, 1, 1],
          [1, 1, 1, 1],
        ],
      },
    );
    expect(parsed.batch).toBe(3);
    expect(parsed.tokens).toBe(6);
    expect(parsed.maxSpans).toBe(1);
    expect(parsed.maxSeg).toBe(1);
    expect(parsed.items[1]!.spans).toEqual([{ open: 2, close: 4, content: [3], seg: 0 }]);
    expect(Array.from(parsed.items[1]!.tokenMask)).toEqual([0, 0, 1, 1, 1, 1]);
    expect(parsed.items[2]!.segPositions).toEqual([]);
    expect(parsed.items[2]!.spans[0]!.seg).toBeNull();
  });

  it('a phrase may straddle padding: padded positions are not content', () => {
    const it0 = parseOne([P, 11, PAD, PAD, 12, E, S]);
    expect(it0.spans).toEqual([{ open: 0, close: 5, content: [1, 4], seg: 0 }]);
    const masked = parseOne([P, 11, 99, 12, E, S], { padId: null, attentionMask: [[1, 1, 0, 1, 1, 1]] });
    expect(masked.spans[0]!.content).toEqual([1, 3]);
  });

  it('ignores tags and bad ids at padded positions', () => {
    const it0 = parseOne([P, 11, E, S, P, -5, 1e9], { vocabSize: 100, attentionMask: [[1, 1, 1, 1, 0, 0, 0]] });
    expect(it0.spans).toHaveLength(1);
    expect(it0.segPositions).toEqual([3]);
  });

  it('accepts an int32 tensor with a tensor mask and agrees with arrays', () => {
    const rows = [
      [P, 11, E, S, 0],
      [5, P, 12, E, S],
    ];
    const mask = [
      [1, 1, 1, 1, 0],
      [1, 1, 1, 1, 1],
    ];
    const ids = tf.tensor2d(rows, [2, 5], 'int32');
    const m = tf.tensor2d(mask, [2, 5], 'bool');
    const fromTensor = parseSpecialTokens(ids, { specialTokens: IDS, attentionMask: m });
    const fromArrays = parseSpecialTokens(rows, { specialTokens: IDS, attentionMask: mask });
    expect(fromTensor).toEqual(fromArrays);
    tf.dispose([ids, m]);
  });

  it('drops empty phrases on request', () => {
    const it0 = parseOne([P, E, P, 11, E, S], { emptyPhrase: 'drop' });
    expect(it0.spans).toEqual([{ open: 2, close: 4, content: [3], seg: 0 }]);
  });

  it('maxSpans and maxSeg may be 0', () => {
    const parsed = parseSpecialTokens([[4, 5], [6]], opts);
    expect([parsed.maxSpans, parsed.maxSeg, parsed.tokens]).toEqual([0, 0, 2]);
    expect(parseSpecialTokens([], opts)).toEqual({ items: [], batch: 0, tokens: 0, maxSpans: 0, maxSeg: 0 });
  });
});

describe('parseSpecialTokens: malformed sequences', () => {
  const ok = [P, 11, E, S];
  const cases: Array<[string, number[], Partial<ParseSpecialTokensOptions>, new (...a: never[]) => TokenSequenceError, number, string]> = [
    ['nested <p>', [P, 11, P, 12, E, E], {}, NestedPhraseError, 2, 'nested <p>'],
    ['unclosed <p>', [S, P, 12, 13], {}, UnclosedPhraseError, 1, 'never closed'],
    ['</p> without <p>', [11, E, S], {}, UnmatchedPhraseEndError, 1, 'without an open <p>'],
    ['empty phrase', [P, E, S], {}, EmptyPhraseError, 1, 'empty phrase'],
    ['empty phrase (padding only)', [P, PAD, E, S], {}, EmptyPhraseError, 2, 'empty phrase'],
    ['<SEG> inside a phrase', [P, 11, S, E], {}, SegInsidePhraseError, 2, 'inside the phrase'],
    ['missing <SEG>', [P, 11, E, 12], { requireSeg: true }, MissingSegError, 4, 'no <SEG>'],
    ['id ≥ vocabSize', [P, 11, 50, E, S], { vocabSize: 50 }, TokenOutOfRangeError, 2, 'token id 50'],
    ['negative id', [P, -3, E, S], {}, TokenOutOfRangeError, 1, 'token id -3'],
    ['non-integer id', [P, 1.5, E, S], {}, TokenOutOfRangeError, 1, 'token id 1.5'],
  ];
  it.each(cases)('%s → its own error naming item and position', (_name, row, extra, cls, position, text) => {
    // The bad row is item 1, behind a good row.
    const e = thrown(() => parseSpecialTokens([ok, row], { ...opts, ...extra }), cls);
    expect(e).toBeInstanceOf(TokenSequenceError);
    expect(e).toBeInstanceOf(FlowSegError);
    expect(e.batchIndex).toBe(1);
    expect(e.position).toBe(position);
    expect(e.message).toContain(`batch item 1, position ${position}`);
    expect(e.message).toContain(text);
    expect(e.name).toBe(cls.name);
  });

  it('each malformed case has a distinct class and problem code', () => {
    const problems = new Set(cases.map(([, row, extra, cls]) => {
      const e = thrown(() => parseSpecialTokens([row], { ...opts, ...extra }), cls);
      return `${cls.name}:${e.problem}`;
    }));
    expect(problems.size).toBe(7);
  });

  it('requireSeg accepts sequences that have a SEG', () => {
    expect(parseOne([P, 11, E, S], { requireSeg: true }).segPositions).toEqual([3]);
  });
});

describe('parseSpecialTokens: bad options and inputs', () => {
  it('rejects bad special ids, padId, vocabSize', () => {
    expect(() => parseSpecialTokens([[1]], { specialTokens: { phraseStart: 1, phraseEnd: 1, seg: 3 } })).toThrow(ValueError);
    expect(() => parseSpecialTokens([[1]], { specialTokens: { ...IDS, seg: -1 } })).toThrow(/non-negative integer/);
    expect(() => parseSpecialTokens([[1]], { specialTokens: IDS, padId: S })).toThrow(/equals padId/);
    expect(() => parseSpecialTokens([[1]], { specialTokens: IDS, vocabSize: 3 })).toThrow(/outside the vocabulary/);
    expect(() => parseSpecialTokens([[1]], { specialTokens: IDS, vocabSize: 0 })).toThrow(ValueError);
    expect(() => parseSpecialTokens([[1]], { specialTokens: IDS, padId: 10, vocabSize: 10 })).toThrow(/padId/);
    expect(() =>
      parseSpecialTokens([[1]], { specialTokens: IDS, emptyPhrase: 'keep' as unknown as 'drop' }),
    ).toThrow(ValueError);
  });

  it('rejects masks that are not 0/1 or do not match the rows', () => {
    expect(() => parseSpecialTokens([[4, 5]], { specialTokens: IDS, attentionMask: [[1, 2]] })).toThrow(
      /batch item 0, position 1: expected 0 \(padding\) or 1/,
    );
    expect(() => parseSpecialTokens([[4, 5]], { specialTokens: IDS, attentionMask: [[1]] })).toThrow(ShapeError);
    expect(() => parseSpecialTokens([[4, 5]], { specialTokens: IDS, attentionMask: [[1, 1], [1, 1]] })).toThrow(
      ShapeError,
    );
  });

  it('rejects float token-id tensors (no silent coercion)', () => {
    const ids = tf.tensor2d([[1, 2]], [1, 2], 'float32');
    expect(() => parseSpecialTokens(ids, { specialTokens: IDS })).toThrow(DTypeError);
    ids.dispose();
  });
});
