import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { ValueError, selectBackend } from '@flowseg/core';
import { expectNoLeaks } from '@flowseg/core/testing';
import { SPECIAL_TOKENS, SPECIAL_TOKEN_LIST, WordTokenizer, pretokenize } from '../../src/components.js';

const WORDS = ['the', 'red', 'ball', 'blue', 'cube', 'left', 'of', 'segment', '.', ',', '(', ')', "'", 's', '3'];

describe('pretokenize', () => {
  it('lowercases, splits punctuation and keeps special tokens exactly', () => {
    expect(pretokenize('  Segment the RED-ish ball, please. ')).toEqual([
      'segment', 'the', 'red', '-', 'ish', 'ball', ',', 'please', '.',
    ]);
    expect(pretokenize('<p>red ball</p> is at <SEG>.')).toEqual(['<p>', 'red', 'ball', '</p>', 'is', 'at', '<SEG>', '.']);
    // Special tokens are case-sensitive: `<seg>` is ordinary text.
    expect(pretokenize('<seg>')).toEqual(['<', 'seg', '>']);
    expect(pretokenize("it's 3D")).toEqual(['it', "'", 's', '3d']);
    expect(pretokenize('Éclair ÜBER')).toEqual(['éclair', 'über']);
    expect(pretokenize('')).toEqual([]);
  });
});

describe('WordTokenizer', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  const tok = new WordTokenizer(WORDS);

  it('puts the special tokens at fixed ids and exposes them as fields', () => {
    expect(SPECIAL_TOKEN_LIST).toEqual(['<pad>', '<bos>', '<eos>', '<unk>', '<p>', '</p>', '<SEG>']);
    expect([tok.padId, tok.bosId, tok.eosId, tok.unkId, tok.phraseStartId, tok.phraseEndId, tok.segId]).toEqual([
      0, 1, 2, 3, 4, 5, 6,
    ]);
    expect(tok.idOf(SPECIAL_TOKENS.seg)).toBe(6);
    expect(tok.tokenOf(tok.phraseEndId)).toBe('</p>');
    expect(tok.vocabSize).toBe(7 + WORDS.length);
    expect(tok.words).toEqual(WORDS);
    expect(tok.idOf('the')).toBe(7);
    expect(tok.idOf('cube')).toBe(11);
  });

  it('encodes words, punctuation and special tokens', () => {
    const ids = tok.encode('Segment <p>the Red ball</p>. <SEG>', { addBos: true, addEos: true });
    expect(ids).toEqual([1, 14, 4, 7, 8, 9, 5, 15, 6, 2]);
    expect(tok.decode(ids)).toBe('<bos> segment <p> the red ball </p>. <SEG> <eos>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('segment <p> the red ball </p>. <SEG>');
  });

  it('maps unknown words to <unk>, or throws in strict mode', () => {
    expect(tok.encode('the green ball')).toEqual([7, tok.unkId, 9]);
    const strict = new WordTokenizer(WORDS, { strict: true });
    expect(() => strict.encode('the green ball')).toThrow(ValueError);
    expect(() => strict.encode('the green ball')).toThrow(/unknown word "green"/);
    expect(strict.encode('the red ball')).toEqual([7, 8, 9]);
  });

  it('decodes with punctuation attached and round-trips text to its normal form', () => {
    expect(tok.decode(tok.encode("The ball ( left of the cube ) , the cube's."))).toBe(
      "the ball (left of the cube), the cube's.",
    );
    const text = 'segment the red ball left of the blue cube.';
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it('encode(decode(ids)) gives back any id sequence (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 30 }), (ids) => {
        expect(tok.encode(tok.decode(ids))).toEqual(ids);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('rejects bad ids and bad vocabularies', () => {
    expect(() => tok.decode([0, tok.vocabSize])).toThrow(ValueError);
    expect(() => tok.decode([-1])).toThrow(ValueError);
    expect(() => tok.decode([1.5])).toThrow(ValueError);
    expect(() => new WordTokenizer(['red', 'red'])).toThrow(/duplicate word "red"/);
    expect(() => new WordTokenizer(['<SEG>'])).toThrow(/special token/);
    expect(() => new WordTokenizer(['Red'])).toThrow(/not a single normalised word/);
    expect(() => new WordTokenizer(['red ball'])).toThrow(/not a single normalised word/);
    expect(() => new WordTokenizer(['ball.'])).toThrow(ValueError);
    expect(() => new WordTokenizer([''])).toThrow(ValueError);
  });

  it('pads batches on either side with matching attention masks', () => {
    const texts = ['the red ball', 'cube', ''];
    const right = tok.encodeBatch(texts, { addBos: true, addEos: true });
    expect(right.ids).toEqual([
      [1, 7, 8, 9, 2],
      [1, 11, 2, 0, 0],
      [1, 2, 0, 0, 0],
    ]);
    expect(right.attentionMask).toEqual([
      [1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0],
      [1, 1, 0, 0, 0],
    ]);
    expect(right.lengths).toEqual([5, 3, 2]);
    const left = tok.encodeBatch(texts, { paddingSide: 'left', padTo: 4 });
    expect(left.ids).toEqual([
      [0, 7, 8, 9],
      [0, 0, 0, 11],
      [0, 0, 0, 0],
    ]);
    expect(left.attentionMask).toEqual([
      [0, 1, 1, 1],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
    ]);
  });

  it('enforces maxLength unless truncation is requested, and validates options', () => {
    expect(() => tok.encodeBatch(['the red ball'], { maxLength: 2 })).toThrow(/exceed maxLength=2/);
    expect(tok.encodeBatch(['the red ball'], { maxLength: 2, truncate: true }).ids).toEqual([[7, 8]]);
    expect(() => tok.encodeBatch(['the red ball'], { padTo: 2 })).toThrow(ValueError);
    expect(() => tok.encodeBatch(['x'], { padTo: 0 })).toThrow(ValueError);
    expect(() => tok.encodeBatch(['x'], { paddingSide: 'middle' as 'left' })).toThrow(ValueError);
  });

  it('returns int32 tensors [batch, tokens] for a batch, leak-free', () => {
    const batch = expectNoLeaks(() => tok.encodeBatchTensors(['the red ball', 'cube'], { addEos: true }));
    expect(batch.ids.shape).toEqual([2, 4]);
    expect(batch.ids.dtype).toBe('int32');
    expect(batch.attentionMask.dtype).toBe('int32');
    expect(batch.ids.arraySync()).toEqual([
      [7, 8, 9, 2],
      [11, 2, 0, 0],
    ]);
    expect(batch.attentionMask.arraySync()).toEqual([
      [1, 1, 1, 1],
      [1, 1, 0, 0],
    ]);
    tf.dispose([batch.ids, batch.attentionMask]);
    expect(() => tok.encodeBatchTensors([])).toThrow(ValueError);
  });

  it('survives a JSON round trip and rejects malformed JSON', () => {
    const strict = new WordTokenizer(WORDS, { strict: true });
    const restored = WordTokenizer.fromJSON(JSON.parse(JSON.stringify(strict)));
    expect(restored.toJSON()).toEqual(strict.toJSON());
    expect(restored.strict).toBe(true);
    expect(restored.encode('the red ball .')).toEqual(strict.encode('the red ball .'));
    expect(() => WordTokenizer.fromJSON(null)).toThrow(ValueError);
    expect(() => WordTokenizer.fromJSON({ format: 'other', version: 1 })).toThrow(ValueError);
    const json = strict.toJSON();
    expect(() => WordTokenizer.fromJSON({ ...json, tokens: ['<bos>', ...json.tokens.slice(1)] })).toThrow(/special token/);
    expect(() => WordTokenizer.fromJSON({ ...json, strict: 'yes' })).toThrow(ValueError);
  });

  it('builds a deterministic vocabulary from a corpus, by frequency then alphabetically', () => {
    const corpus = ['The red ball.', 'the blue ball', '<p>a red cube</p> <SEG>'];
    const built = WordTokenizer.fromCorpus(corpus);
    expect(built.words).toEqual(['ball', 'red', 'the', '.', 'a', 'blue', 'cube']);
    expect(WordTokenizer.fromCorpus(corpus, { minCount: 2 }).words).toEqual(['ball', 'red', 'the']);
    expect(WordTokenizer.fromCorpus(corpus, { maxWords: 1 }).words).toEqual(['ball']);
    expect(() => WordTokenizer.fromCorpus(corpus, { minCount: 0 })).toThrow(ValueError);
  });
});
