import { describe, expect, it } from 'vitest';
import { SPECIAL_TOKENS, VOCABULARY, VOCABULARY_WORDS, tokenizeWords } from '../src/index.js';

describe('vocabulary', () => {
  it('starts with the special tokens and has no duplicates', () => {
    expect(VOCABULARY.slice(0, SPECIAL_TOKENS.length)).toEqual([...SPECIAL_TOKENS]);
    expect(VOCABULARY.slice(SPECIAL_TOKENS.length)).toEqual([...VOCABULARY_WORDS]);
    expect(new Set(VOCABULARY).size).toBe(VOCABULARY.length);
    for (const t of ['<p>', '</p>', '<SEG>', '<pad>', '<bos>', '<eos>', '<unk>']) expect(VOCABULARY).toContain(t);
  });

  it('tokenises punctuation as separate words', () => {
    expect(tokenizeWords('a small red circle at the left, and a star.')).toEqual(['a', 'small', 'red', 'circle', 'at', 'the', 'left', ',', 'and', 'a', 'star', '.']);
    expect(tokenizeWords('<p> the red square </p> <SEG>')).toEqual(['<p>', 'the', 'red', 'square', '</p>', '<SEG>']);
  });
});
