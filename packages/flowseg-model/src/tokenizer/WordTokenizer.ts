import * as tf from '@tensorflow/tfjs';
import { ValueError, requirePositiveInt } from '@flowseg/core';
import { SPECIAL_TOKEN_LIST } from './specialTokens.js';
import { pretokenize } from './pretokenize.js';

/** Options of {@link WordTokenizer}'s constructor. */
export interface WordTokenizerOptions {
  /** Throw a `ValueError` on an unknown word instead of mapping it to `<unk>` (default false). */
  readonly strict?: boolean;
}

/** Options of {@link WordTokenizer.fromCorpus}. */
export interface FromCorpusOptions extends WordTokenizerOptions {
  /** Keep at most this many words, most frequent first (default: all). */
  readonly maxWords?: number;
  /** Drop words seen fewer times (default 1). */
  readonly minCount?: number;
}

/** Options of {@link WordTokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend `<bos>` (default false). */
  readonly addBos?: boolean;
  /** Append `<eos>` (default false). */
  readonly addEos?: boolean;
}

/** Options of {@link WordTokenizer.encodeBatch}. */
export interface EncodeBatchOptions extends EncodeOptions {
  /** Pad every row to this length (default: the longest row). */
  readonly padTo?: number;
  /**
   * Longest allowed row (after `<bos>`/`<eos>`). A longer row throws a `ValueError` unless
   * `truncate` is set. Default: no limit.
   */
  readonly maxLength?: number;
  /** Cut rows longer than `maxLength` (keeping the start) instead of throwing (default false). */
  readonly truncate?: boolean;
  /** Where padding goes: `'right'` for training (default), `'left'` for batched generation. */
  readonly paddingSide?: 'left' | 'right';
}

/** Options of {@link WordTokenizer.decode}. */
export interface DecodeOptions {
  /** Drop `<pad>`, `<bos>` and `<eos>` (default false); `<p>`, `</p>`, `<SEG>`, `<unk>` stay. */
  readonly skipSpecialTokens?: boolean;
}

/** A padded batch as plain arrays, from {@link WordTokenizer.encodeBatch}. */
export interface BatchEncoding {
  /** Token ids `[batch][tokens]`, padded with `<pad>`. */
  readonly ids: number[][];
  /** `[batch][tokens]`: 1 = real token, 0 = padding. */
  readonly attentionMask: number[][];
  /** Real tokens per row `[batch]`. */
  readonly lengths: number[];
}

/** A padded batch as tensors, from {@link WordTokenizer.encodeBatchTensors}. */
export interface TokenBatch {
  /** Token ids `[batch, tokens]` int32. */
  readonly ids: tf.Tensor2D;
  /** `[batch, tokens]` int32: 1 = real token, 0 = padding. */
  readonly attentionMask: tf.Tensor2D;
}

/** JSON form of a {@link WordTokenizer} (checkpoints store it as `tokenizer.json`). */
export interface WordTokenizerJSON {
  /** Format tag. */
  readonly format: 'flowseg-word-tokenizer';
  /** Format version. */
  readonly version: 1;
  /** Every token in id order, special tokens first. */
  readonly tokens: readonly string[];
  /** Strict mode. */
  readonly strict: boolean;
}

/** Punctuation that attaches to the previous word when decoding. */
const NO_SPACE_BEFORE = new Set(['.', ',', '!', '?', ';', ':', ')', ']', '}', "'", '%']);
/** Punctuation that attaches to the next word when decoding. */
const NO_SPACE_AFTER = new Set(['(', '[', '{', "'"]);

/**
 * Word-level tokenizer over a fixed vocabulary, with FlowSeg's special tokens at fixed ids:
 * `<pad>` 0, `<bos>` 1, `<eos>` 2, `<unk>` 3, `<p>` 4, `</p>` 5, `<SEG>` 6, then the words in
 * the order given. Text is lowercased and split into words and single punctuation marks
 * (special tokens are matched exactly, case-sensitively); unknown words become `<unk>` (or
 * throw in strict mode).
 *
 * Round trip: `encode(decode(ids))` gives back `ids` for any valid ids, and
 * `decode(encode(text))` gives the normalised text (lowercase, single spaces).
 *
 * @example
 * ```ts
 * const tok = WordTokenizer.fromCorpus(['the red ball', 'the blue cube']);
 * tok.encode('<p> the red ball </p> <SEG>'); // [4, …, 5, 6]
 * ```
 */
export class WordTokenizer {
  /** Id of `<pad>` (0). */
  readonly padId: number;
  /** Id of `<bos>` (1). */
  readonly bosId: number;
  /** Id of `<eos>` (2). */
  readonly eosId: number;
  /** Id of `<unk>` (3). */
  readonly unkId: number;
  /** Id of `<p>` (4). */
  readonly phraseStartId: number;
  /** Id of `</p>` (5). */
  readonly phraseEndId: number;
  /** Id of `<SEG>` (6). */
  readonly segId: number;
  /** Whether unknown words throw. */
  readonly strict: boolean;
  private readonly tokens: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  /**
   * @param vocabulary - the words (not the special tokens), each already normalised: one
   *   lowercase word or one punctuation mark, no duplicates.
   * @param options - strict mode.
   */
  constructor(vocabulary: readonly string[], options: WordTokenizerOptions = {}) {
    const tokens = [...SPECIAL_TOKEN_LIST];
    const ids = new Map<string, number>(tokens.map((t, i) => [t, i]));
    for (const word of vocabulary) {
      if (typeof word !== 'string' || word.length === 0) {
        throw new ValueError(`vocabulary: expected non-empty strings, received ${JSON.stringify(word)}`, 'vocabulary');
      }
      if (ids.has(word)) {
        throw new ValueError(
          SPECIAL_TOKEN_LIST.includes(word)
            ? `vocabulary: "${word}" is a special token (added automatically)`
            : `vocabulary: duplicate word "${word}"`,
          'vocabulary',
        );
      }
      const pieces = pretokenize(word);
      if (pieces.length !== 1 || pieces[0] !== word) {
        throw new ValueError(
          `vocabulary: "${word}" is not a single normalised word (it tokenizes to ${JSON.stringify(pieces)})`,
          'vocabulary',
        );
      }
      ids.set(word, tokens.length);
      tokens.push(word);
    }
    this.tokens = tokens;
    this.ids = ids;
    this.strict = options.strict ?? false;
    this.padId = 0;
    this.bosId = 1;
    this.eosId = 2;
    this.unkId = 3;
    this.phraseStartId = 4;
    this.phraseEndId = 5;
    this.segId = 6;
  }

  /**
   * Build a vocabulary from example texts: words sorted by frequency (ties alphabetically),
   * so the result is deterministic.
   */
  static fromCorpus(texts: Iterable<string>, options: FromCorpusOptions = {}): WordTokenizer {
    const minCount = requirePositiveInt(options.minCount ?? 1, 'minCount');
    const maxWords = options.maxWords ?? Infinity;
    if (maxWords !== Infinity && (!Number.isInteger(maxWords) || maxWords < 0)) {
      throw new ValueError(`maxWords: expected a non-negative integer, received ${maxWords}`, 'maxWords');
    }
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const piece of pretokenize(text)) {
        if (!SPECIAL_TOKEN_LIST.includes(piece)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
      }
    }
    const words = [...counts.entries()]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxWords)
      .map(([w]) => w);
    return new WordTokenizer(words, { strict: options.strict });
  }

  /** Restore a tokenizer saved with {@link WordTokenizer.toJSON}; validates the data. */
  static fromJSON(json: unknown): WordTokenizer {
    const j = json as Partial<WordTokenizerJSON> | null;
    if (!j || typeof j !== 'object' || j.format !== 'flowseg-word-tokenizer' || j.version !== 1) {
      throw new ValueError('json: not a flowseg-word-tokenizer version 1 object', 'json');
    }
    if (!Array.isArray(j.tokens) || typeof j.strict !== 'boolean') {
      throw new ValueError('json: expected `tokens` (string[]) and `strict` (boolean)', 'json');
    }
    SPECIAL_TOKEN_LIST.forEach((t, i) => {
      if (j.tokens![i] !== t) {
        throw new ValueError(`json: token ${i} must be the special token ${t}, found ${String(j.tokens![i])}`, 'json');
      }
    });
    return new WordTokenizer(j.tokens.slice(SPECIAL_TOKEN_LIST.length), { strict: j.strict });
  }

  /** Number of tokens, special tokens included (the language model's `vocabSize`). */
  get vocabSize(): number {
    return this.tokens.length;
  }

  /** The words after the special tokens, in id order. */
  get words(): readonly string[] {
    return this.tokens.slice(SPECIAL_TOKEN_LIST.length);
  }

  /** Id of a token string (special or word), or `undefined`. */
  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Token string of an id; throws `ValueError` for an id outside the vocabulary. */
  tokenOf(id: number): string {
    const token = Number.isInteger(id) ? this.tokens[id] : undefined;
    if (token === undefined) {
      throw new ValueError(`ids: ${id} is not a token id in [0, ${this.tokens.length})`, 'ids');
    }
    return token;
  }

  /** Split text into normalised token strings (no vocabulary lookup). */
  tokenize(text: string): string[] {
    return pretokenize(text);
  }

  /** Encode text to ids; unknown words → `<unk>` (strict mode: `ValueError`). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new ValueError(`text: expected a string, received ${typeof text}`, 'text');
    const out: number[] = options.addBos ? [this.bosId] : [];
    for (const piece of pretokenize(text)) {
      const id = this.ids.get(piece);
      if (id === undefined) {
        if (this.strict) throw new ValueError(`text: unknown word "${piece}" (strict tokenizer)`, 'text');
        out.push(this.unkId);
      } else out.push(id);
    }
    if (options.addEos) out.push(this.eosId);
    return out;
  }

  /**
   * Decode ids to text: tokens joined by spaces, except before closing punctuation
   * (`.`, `,`, `)`, …) and after opening punctuation.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens
      ? new Set([this.padId, this.bosId, this.eosId])
      : new Set<number>();
    let text = '';
    let previous: string | null = null;
    for (const id of ids) {
      const token = this.tokenOf(id);
      if (skip.has(id)) continue;
      const glue = previous === null || NO_SPACE_BEFORE.has(token) || NO_SPACE_AFTER.has(previous);
      text += glue ? token : ` ${token}`;
      previous = token;
    }
    return text;
  }

  /** Encode several texts and pad them to one length (see {@link EncodeBatchOptions}). */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): BatchEncoding {
    const { maxLength, padTo } = options;
    if (maxLength !== undefined) requirePositiveInt(maxLength, 'maxLength');
    if (padTo !== undefined) requirePositiveInt(padTo, 'padTo');
    const side = options.paddingSide ?? 'right';
    if (side !== 'left' && side !== 'right') {
      throw new ValueError(`paddingSide: expected 'left' or 'right', received ${String(side)}`, 'paddingSide');
    }
    const rows = texts.map((text, i) => {
      const ids = this.encode(text, options);
      if (maxLength !== undefined && ids.length > maxLength) {
        if (!options.truncate) {
          throw new ValueError(`texts[${i}]: ${ids.length} tokens exceed maxLength=${maxLength}`, 'texts');
        }
        return ids.slice(0, maxLength);
      }
      return ids;
    });
    const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
    const width = padTo ?? longest;
    if (width < longest) {
      throw new ValueError(`padTo: ${padTo} is shorter than the longest row (${longest} tokens)`, 'padTo');
    }
    const ids: number[][] = [];
    const attentionMask: number[][] = [];
    for (const row of rows) {
      const pad = new Array<number>(width - row.length).fill(this.padId);
      const ones = new Array<number>(row.length).fill(1);
      const zeros = new Array<number>(width - row.length).fill(0);
      ids.push(side === 'right' ? [...row, ...pad] : [...pad, ...row]);
      attentionMask.push(side === 'right' ? [...ones, ...zeros] : [...zeros, ...ones]);
    }
    return { ids, attentionMask, lengths: rows.map((r) => r.length) };
  }

  /** {@link WordTokenizer.encodeBatch} as int32 tensors `[batch, tokens]` (caller disposes). */
  encodeBatchTensors(texts: readonly string[], options: EncodeBatchOptions = {}): TokenBatch {
    if (texts.length === 0) throw new ValueError('texts: expected at least one text', 'texts');
    const { ids, attentionMask } = this.encodeBatch(texts, options);
    const shape: [number, number] = [ids.length, ids[0]!.length];
    return {
      ids: tf.tensor2d(ids, shape, 'int32'),
      attentionMask: tf.tensor2d(attentionMask, shape, 'int32'),
    };
  }

  /** JSON form for checkpoints (restore with {@link WordTokenizer.fromJSON}). */
  toJSON(): WordTokenizerJSON {
    return { format: 'flowseg-word-tokenizer', version: 1, tokens: [...this.tokens], strict: this.strict };
  }
}

