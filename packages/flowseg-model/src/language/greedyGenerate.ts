import * as tf from '@tensorflow/tfjs';
import { ValueError, checkShapes, requireBoolean, requirePositiveInt, tidy } from '@flowseg/core';
import type { ConditionLanguageModel } from './ConditionLanguageModel.js';
import { isIncrementalLanguageModel, type DecodingCache, type DecodingStep, type IncrementalLanguageModel } from './incrementalDecoding.js';

/** Options of {@link greedyGenerate}. */
export interface GenerateOptions {
  /** Most tokens to generate per row (positive integer). */
  readonly maxNewTokens: number;
  /** A row stops after it emits this id (the id is included in its output). */
  readonly eosId: number;
  /**
   * Prompt attention mask `[batch, tokens]` (int32 or bool, 1 = real token) for prompts of
   * different lengths. Prompts must be **left**-padded (padding before the text) so that
   * every row continues from its last real token.
   */
  readonly attentionMask?: tf.Tensor2D | null;
  /**
   * Decode with the model's decoding cache when it has one (an {@link IncrementalLanguageModel}):
   * the prompt once, then one token per step. Default true; `false` re-runs the whole sequence
   * every step (the same ids; for comparison).
   */
  readonly useCache?: boolean;
}

/**
 * Greedy decoding with any {@link ConditionLanguageModel}: repeatedly append
 * `argmax(logits[:, last])` until every row has produced `eosId` or `maxNewTokens` tokens.
 * Reads each step's tokens synchronously; on backends that cannot (webgpu in Node) use
 * {@link greedyGenerateAsync}, which returns the same ids.
 *
 * Cost: an {@link IncrementalLanguageModel} (such as `TinyCausalLM`) runs the prompt once and
 * then only the new token per step (its decoding cache); any other model re-runs the whole
 * sequence of `S + k` positions at step `k` (O((S+k)²) attention per step). Same ids either way.
 * Leak-free: each step's tensors are freed before the next.
 *
 * @param model - the language model.
 * @param imageTokens - image prefix `[batch, imageTokens, hidden]` float32, or `null`.
 * @param promptIds - prompt `[batch, tokens]` int32 (at least one token per row).
 * @returns per row, the generated ids (prompt excluded; `eosId` last if it was produced).
 */
export function greedyGenerate(
  model: ConditionLanguageModel,
  imageTokens: tf.Tensor3D | null,
  promptIds: tf.Tensor2D,
  options: GenerateOptions,
): number[][] {
  checkGenerateInputs(model, imageTokens, promptIds, options);
  const mask = options.attentionMask ? (tf.tidy(() => tf.cast(options.attentionMask!, 'int32').arraySync()) as number[][]) : null;
  const rows = promptRows(promptIds.arraySync() as number[][], mask, options.eosId);
  const steps = new GreedySteps(model, imageTokens, rows, options.useCache ?? true);
  try {
    for (let step = 0; step < options.maxNewTokens && !rows.finished; step++) {
      const next = steps.next();
      try {
        rows.append(next.dataSync());
      } finally {
        next.dispose();
      }
    }
  } finally {
    steps.dispose();
  }
  return rows.generated;
}

/**
 * {@link greedyGenerate} with asynchronous reads (`await data()` after each step): the same ids,
 * on every backend, including webgpu in Node, which has no synchronous reads.
 * @param model - the language model.
 * @param imageTokens - image prefix `[batch, imageTokens, hidden]` float32, or `null`.
 * @param promptIds - prompt `[batch, tokens]` int32 (at least one token per row).
 * @returns per row, the generated ids (prompt excluded; `eosId` last if it was produced).
 */
export async function greedyGenerateAsync(
  model: ConditionLanguageModel,
  imageTokens: tf.Tensor3D | null,
  promptIds: tf.Tensor2D,
  options: GenerateOptions,
): Promise<number[][]> {
  checkGenerateInputs(model, imageTokens, promptIds, options);
  let mask: number[][] | null = null;
  if (options.attentionMask) {
    const asInt = tf.cast(options.attentionMask, 'int32');
    try {
      mask = (await asInt.array()) as number[][];
    } finally {
      asInt.dispose();
    }
  }
  const rows = promptRows((await promptIds.array()) as number[][], mask, options.eosId);
  return decodeGreedyAsync(model, imageTokens, rows, options.maxNewTokens, options.useCache ?? true);
}

/**
 * Decode `rows` greedily for at most `maxNewTokens` steps, reading each step with `await data()`.
 * The caller has checked the inputs (see {@link greedyGenerateAsync}).
 * @returns per row, the generated ids (`eosId` last if produced).
 */
export async function decodeGreedyAsync(
  model: ConditionLanguageModel,
  imageTokens: tf.Tensor3D | null,
  rows: GreedyRows,
  maxNewTokens: number,
  useCache = true,
): Promise<number[][]> {
  const steps = new GreedySteps(model, imageTokens, rows, useCache);
  try {
    for (let step = 0; step < maxNewTokens && !rows.finished; step++) {
      const next = steps.next();
      try {
        rows.append(await next.data());
      } finally {
        next.dispose();
      }
    }
  } finally {
    steps.dispose();
  }
  return rows.generated;
}

/** The options, dtypes, shapes and position budget both decoders need; throws a typed error naming the argument. */
function checkGenerateInputs(
  model: ConditionLanguageModel,
  imageTokens: tf.Tensor3D | null,
  promptIds: tf.Tensor2D,
  options: GenerateOptions,
): void {
  const { maxNewTokens, eosId } = options;
  requirePositiveInt(maxNewTokens, 'maxNewTokens');
  if (!Number.isInteger(eosId) || eosId < 0 || eosId >= model.vocabSize) {
    throw new ValueError(`eosId: expected an id in [0, ${model.vocabSize}), received ${eosId}`, 'eosId');
  }
  if (options.useCache !== undefined) requireBoolean(options.useCache, 'useCache');
  const b = checkShapes(
    {
      imageTokens: { tensor: imageTokens, axes: ['batch', 'imageTokens', 'hidden'], dtypes: ['float32'], optional: true },
      promptIds: { tensor: promptIds, axes: ['batch', 'tokens'], dtypes: ['int32'] },
      attentionMask: { tensor: options.attentionMask, axes: ['batch', 'tokens'], dtypes: ['int32', 'bool'], optional: true },
    },
    { hidden: model.hiddenSize },
  );
  const prompt = b.tokens!;
  if (prompt === 0) throw new ValueError('promptIds: expected at least one token per row', 'promptIds');
  const imageCount = b.imageTokens ?? 0;
  const room = model.maxPositions - imageCount - prompt;
  if (room < maxNewTokens) {
    throw new ValueError(
      `maxNewTokens: ${maxNewTokens} new tokens after ${imageCount} image + ${prompt} prompt tokens exceed ` +
        `maxPositions=${model.maxPositions}`,
      'maxNewTokens',
    );
  }
}

/** Rows to decode from the prompt ids read back and their mask (as int32 values), checking it is left-padded. */
function promptRows(ids: number[][], maskValues: number[][] | null, eosId: number): GreedyRows {
  const mask = maskValues?.map((row) => row.map((v) => (v !== 0 ? 1 : 0))) ?? null;
  mask?.forEach((row, r) => {
    if (row[row.length - 1] !== 1 || row.some((v, i) => i > 0 && v === 0 && row[i - 1] === 1)) {
      throw new ValueError(
        `attentionMask: row ${r} is not left-padded (padding must precede the prompt and the last token must be real)`,
        'attentionMask',
      );
    }
  });
  return new GreedyRows(ids, mask, eosId);
}

/**
 * Rows under greedy decoding: each step appends one token per row; a row that has produced
 * `eosId` keeps being fed `eosId` (causality keeps it from affecting the other rows) and stops
 * collecting. Shared by the synchronous {@link greedyGenerate} and the asynchronous {@link decodeGreedyAsync}.
 */
export class GreedyRows {
  /** Per row, the generated ids (`eosId` last if produced). */
  readonly generated: number[][];
  private readonly done: boolean[];

  /**
   * @param ids - the prompts, all of one length (left-padded); grown in place.
   * @param mask - their attention mask (1 = real token), or `null` when every token is real; grown in place.
   * @param eosId - the id that ends a row.
   */
  constructor(
    readonly ids: number[][],
    readonly mask: number[][] | null,
    private readonly eosId: number,
  ) {
    this.generated = ids.map(() => []);
    this.done = ids.map(() => false);
  }

  /** Whether every row has produced `eosId`. */
  get finished(): boolean {
    return !this.done.includes(false);
  }

  /** Append one step's argmax tokens (one per row). */
  append(next: ArrayLike<number>): void {
    this.ids.forEach((row, r) => {
      const token = this.done[r] ? this.eosId : next[r]!;
      row.push(token);
      this.mask?.[r]!.push(1);
      if (!this.done[r]) {
        this.generated[r]!.push(token);
        if (token === this.eosId) this.done[r] = true;
      }
    });
  }
}

/**
 * Each step's argmax tokens `[batch]` int32 for `rows` (read their last tokens before the next
 * call). With `useCache`, an {@link IncrementalLanguageModel} runs the prompt once and then one
 * token per step; otherwise the whole sequence is re-run each step.
 */
class GreedySteps {
  private cache: DecodingCache | null = null;

  constructor(
    private readonly model: ConditionLanguageModel,
    private readonly imageTokens: tf.Tensor3D | null,
    private readonly rows: GreedyRows,
    private readonly useCache: boolean,
  ) {}

  /** The next token of every row (caller disposes). */
  next(): tf.Tensor1D {
    const { model, imageTokens, rows } = this;
    const batch = rows.ids.length;
    const len = rows.ids[0]!.length;
    const wholeRows = () => ({
      tokenIds: tf.tensor2d(rows.ids, [batch, len], 'int32'),
      attentionMask: rows.mask ? tf.tensor2d(rows.mask, [batch, len], 'int32') : null,
    });
    if (!this.useCache || !isIncrementalLanguageModel(model)) {
      return tidy(() => {
        const logits = model.logits({ imageTokens, ...wholeRows() });
        const last = tf.slice(logits, [0, len - 1, 0], [batch, 1, model.vocabSize]);
        return tf.argMax(tf.reshape(last, [batch, model.vocabSize]), -1) as tf.Tensor1D;
      });
    }
    // Not under tidy: the cache is a class instance, whose tensors tidy would not see and would free.
    const text = this.cache === null ? wholeRows() : { tokenIds: tf.tensor2d(rows.ids.map((row) => [row[len - 1]!]), [batch, 1], 'int32'), attentionMask: null };
    let step: DecodingStep;
    try {
      step = this.cache === null ? model.startDecoding({ imageTokens, ...text }) : model.continueDecoding(this.cache, text.tokenIds);
    } finally {
      tf.dispose([text.tokenIds, ...(text.attentionMask ? [text.attentionMask] : [])]);
    }
    this.cache?.dispose();
    this.cache = step.cache;
    try {
      return tidy(() => tf.argMax(step.logits, -1) as tf.Tensor1D);
    } finally {
      step.logits.dispose();
    }
  }

  /** Frees the decoding cache. */
  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
  }
}
