import * as tf from '@tensorflow/tfjs';
import {
  FlowSegLayer,
  ShapeError,
  ValueError,
  checkShapes,
  deriveSeed,
  requireInt,
  requirePositiveInt,
  requireRate,
  tidy,
  type ConditionState,
} from '@flowseg/core';
import { LlmProjection } from './LlmProjection.js';
import { buildPoolingPlan, PHRASE_POOLINGS, type PhrasePooling, type PoolingPlan } from '../pooling/buildPoolingPlan.js';
import {
  parseSpecialTokens,
  type EmptyPhrasePolicy,
  type ParsedTokens,
  type PhraseSpan,
} from '../tokens/parseSpecialTokens.js';
import type { SpecialTokenIds } from '../tokens/SpecialTokenIds.js';
import { readTokenRows, type TokenIdsInput, type TokenMaskInput } from '../tokens/tokenRows.js';

/** Configuration of {@link LlmConditionAdapter}. */
export interface LlmConditionAdapterConfig {
  /** Width of the language model's hidden states (`llmDim`). */
  llmDim: number;
  /** Decoder width (`channels`) that `φ_llm` projects to. */
  decoderDim: number;
  /** Ids of `<p>`, `</p>`, `<SEG>` in the tokenizer. */
  specialTokens: SpecialTokenIds;
  /** Hidden width of `φ_llm` (default `llmDim`, as LISA). */
  projectionHiddenDim?: number;
  /** Dropout on `φ_llm`'s output in training (default 0). */
  dropout?: number;
  /** Use separate `φ_llm` for conditions and `<SEG>` embeddings (default false: one shared, as the paper). */
  separateProjections?: boolean;
  /** Phrase pooling (default `'mean'`); see {@link PhrasePooling}. */
  pooling?: PhrasePooling;
  /** Pool over the `<p>`/`</p>` tokens too (default false: only the tokens strictly between them). */
  includeTags?: boolean;
  /** Padding token id, if padding is marked by id (besides or instead of an attention mask). */
  padId?: number | null;
  /** Vocabulary size: ids outside `[0, vocabSize)` are rejected (default: unchecked above). */
  vocabSize?: number | null;
  /** Every sequence must contain a `<SEG>` (default false). */
  requireSeg?: boolean;
  /** What to do with a phrase with no token between its tags (default `'error'`). */
  emptyPhrase?: EmptyPhrasePolicy;
  /** Seed of the weight initialisation and dropout (default: unseeded). */
  seed?: number | null;
  /** Layer name. */
  name?: string;
}

/** Inputs of {@link LlmConditionAdapter.forward} and {@link LlmConditionAdapter.pool}. */
export interface LlmConditionInputs {
  /** Token ids `[batch, tokens]` (arrays or an int32 tensor), aligned with `hiddenStates`. */
  readonly tokenIds: TokenIdsInput;
  /** The language model's hidden states `[batch, tokens, llmDim]`, float32, finite everywhere. */
  readonly hiddenStates: tf.Tensor3D;
  /** Padding mask `[batch, tokens]`, 1 = real token, 0 = padding (optional). */
  readonly attentionMask?: TokenMaskInput | null;
  /** Training mode (dropout active). */
  readonly training?: boolean;
}

/** Pooled hidden states before `φ_llm` (what {@link LlmConditionAdapter.pool} returns). */
export interface PooledLlmStates {
  /** `C_LLM`: one pooled row per phrase `[batch, conditions, llmDim]`; padded rows are 0. */
  readonly phraseStates: tf.Tensor3D;
  /** `S_LLM`: hidden state at each `<SEG>` `[batch, targets, llmDim]`; padded rows are 0. */
  readonly segStates: tf.Tensor3D;
  /** Phrase validity `[batch, conditions]`, float32, 1 = real phrase, 0 = padding. */
  readonly conditionMask: tf.Tensor2D;
  /** `<SEG>` validity `[batch, targets]`, float32, 1 = real `<SEG>`, 0 = padding. */
  readonly segMask: tf.Tensor2D;
  /** Phrases each `<SEG>` is tied to `[batch, targets, conditions]`, float32, 1 = tied. */
  readonly segConditionMask: tf.Tensor3D;
  /** Phrases found, per batch item (token positions of the tags and content). */
  readonly spans: readonly (readonly PhraseSpan[])[];
  /** `<SEG>` positions, per batch item. */
  readonly segPositions: readonly (readonly number[])[];
}

/**
 * FlowSeg's language-model inputs, as consumed by the decoder (initial queries
 * `Q⁽⁰⁾ = Q_learned + S`, one target per `<SEG>`) and by BSF (conditions `C⁽⁰⁾`). Structurally a
 * `ConditionState`, so it can be handed to a decoder as is.
 *
 * Padding: rows of `conditions` and `segEmbeddings` whose mask is 0 are exactly 0. The
 * `conditions` axis is the most phrases in any sequence and may be 0 (no phrase anywhere);
 * likewise `targets`. A sequence with no phrase has an all-zero `conditionMask` row.
 */
export interface LlmConditions extends ConditionState {
  /** Condition embeddings `C = φ_llm(C_LLM)`: `[batch, conditions, channels]`. */
  readonly conditions: tf.Tensor3D;
  /** Phrase validity `[batch, conditions]`, float32, 1 = real phrase, 0 = padding. */
  readonly conditionMask: tf.Tensor2D;
  /** Segmentation embeddings `S = φ_llm(S_LLM)`, one per `<SEG>` (target): `[batch, targets, channels]`. */
  readonly segEmbeddings: tf.Tensor3D;
  /** `<SEG>` validity `[batch, targets]`, float32, 1 = real `<SEG>`, 0 = padding. */
  readonly segMask: tf.Tensor2D;
  /**
   * Which phrases condition which target: `[batch, targets, conditions]`, float32, 1 = tied.
   * `<SEG>` k is tied to the phrases closing after `<SEG>` k−1 and before `<SEG>` k, or to all
   * phrases of its sequence when there are none; rows of padded targets are 0.
   */
  readonly segConditionMask: tf.Tensor3D;
  /** Phrases found, per batch item (token positions of the tags and content). */
  readonly spans: readonly (readonly PhraseSpan[])[];
  /** `<SEG>` positions, per batch item. */
  readonly segPositions: readonly (readonly number[])[];
}

interface Prepared {
  readonly parsed: ParsedTokens;
  readonly plan: PoolingPlan;
}

/**
 * Turns any language model's token ids and hidden states into FlowSeg's condition embeddings
 * `C` and segmentation embeddings `S` (DESIGN §1): finds `<p> … </p>` phrases and `<SEG>`
 * tokens ({@link parseSpecialTokens}), pools each phrase's hidden states into `C_LLM`
 * ({@link PhrasePooling}; default mean over the tokens strictly between the tags), takes the
 * hidden state at each `<SEG>` as `S_LLM`, and projects both with `φ_llm`
 * ({@link LlmProjection}).
 *
 * Pooling is one batched matmul of a `[batch, rows, tokens]` weight matrix built in plain
 * JavaScript with `H` — differentiable, so gradients reach `φ_llm` and (when the caller
 * differentiates with respect to them) the hidden states, exactly at phrase and `<SEG>`
 * tokens. Weights: `projection.*` (or `condition_projection.*` and `seg_projection.*` with
 * `separateProjections`), plus `pool_score [llmDim]` for attention pooling.
 *
 * @example
 * ```ts
 * const adapter = new LlmConditionAdapter({
 *   llmDim: 4096, decoderDim: 256, specialTokens: { phraseStart: 32001, phraseEnd: 32002, seg: 32000 },
 * });
 * const { conditions, conditionMask, segEmbeddings, segMask } = adapter.forward({
 *   tokenIds, hiddenStates, attentionMask,
 * });
 * ```
 */
export class LlmConditionAdapter extends FlowSegLayer {
  /** @internal */
  static readonly className = 'FlowSegLlmConditionAdapter';
  /** Hidden-state width (`llmDim`). */
  readonly llmDim: number;
  /** Output width (`channels`). */
  readonly decoderDim: number;
  /** Special-token ids. */
  readonly specialTokens: SpecialTokenIds;
  /** Hidden width of `φ_llm`. */
  readonly projectionHiddenDim: number;
  /** Output dropout of `φ_llm`. */
  readonly dropout: number;
  /** Separate projections for conditions and `<SEG>`s. */
  readonly separateProjections: boolean;
  /** Phrase pooling. */
  readonly pooling: PhrasePooling;
  /** Whether tags are pooled. */
  readonly includeTags: boolean;
  /** Padding id, or `null`. */
  readonly padId: number | null;
  /** Vocabulary size, or `null`. */
  readonly vocabSize: number | null;
  /** Whether every sequence needs a `<SEG>`. */
  readonly requireSeg: boolean;
  /** Empty-phrase policy. */
  readonly emptyPhrase: EmptyPhrasePolicy;
  /** Seed, or `null`. */
  readonly seed: number | null;
  private conditionProjection!: LlmProjection;
  private segProjection!: LlmProjection;
  private poolScore: tf.LayerVariable | null = null;

  constructor(config: LlmConditionAdapterConfig) {
    super({ name: config.name });
    requirePositiveInt(config.llmDim, 'llmDim');
    requirePositiveInt(config.decoderDim, 'decoderDim');
    const pooling = config.pooling ?? 'mean';
    if (!PHRASE_POOLINGS.includes(pooling)) {
      throw new ValueError(`pooling: expected one of ${PHRASE_POOLINGS.join(', ')}, received ${String(pooling)}`, 'pooling');
    }
    const emptyPhrase = config.emptyPhrase ?? 'error';
    if (emptyPhrase !== 'error' && emptyPhrase !== 'drop') {
      throw new ValueError(`emptyPhrase: expected 'error' or 'drop', received ${String(emptyPhrase)}`, 'emptyPhrase');
    }
    const projectionHiddenDim = requirePositiveInt(config.projectionHiddenDim ?? config.llmDim, 'projectionHiddenDim');
    const dropout = requireRate(config.dropout ?? 0, 'dropout');
    const seed = config.seed == null ? null : requireInt(config.seed, 'seed');
    for (const key of ['separateProjections', 'includeTags', 'requireSeg'] as const) {
      if (config[key] != null && typeof config[key] !== 'boolean') {
        throw new ValueError(`${key}: expected a boolean, received ${String(config[key])}`, key);
      }
    }
    this.llmDim = config.llmDim;
    this.decoderDim = config.decoderDim;
    this.projectionHiddenDim = projectionHiddenDim;
    this.dropout = dropout;
    this.separateProjections = config.separateProjections ?? false;
    this.pooling = pooling;
    this.includeTags = config.includeTags ?? false;
    this.padId = config.padId ?? null;
    this.vocabSize = config.vocabSize ?? null;
    this.requireSeg = config.requireSeg ?? false;
    this.emptyPhrase = emptyPhrase;
    this.seed = seed;
    // Parsing an empty batch validates the special ids, padId and vocabSize now, not at first use.
    parseSpecialTokens([], { ...this.parseRules(), specialTokens: config.specialTokens });
    const { phraseStart, phraseEnd, seg } = config.specialTokens;
    this.specialTokens = { phraseStart, phraseEnd, seg };
  }

  private makeProjection(name: string, seedIndex: number): LlmProjection {
    return new LlmProjection({
      inFeatures: this.llmDim,
      outFeatures: this.decoderDim,
      hiddenDim: this.projectionHiddenDim,
      dropout: this.dropout,
      seed: deriveSeed(this.seed ?? undefined, seedIndex) ?? null,
      name: `${this.name}_${name}`,
    });
  }

  override build(): void {
    if (this.built) return;
    if (this.separateProjections) {
      this.conditionProjection = this.addChild('condition_projection', this.makeProjection('condition_projection', 0));
      this.segProjection = this.addChild('seg_projection', this.makeProjection('seg_projection', 1));
    } else {
      this.conditionProjection = this.addChild('projection', this.makeProjection('projection', 0));
      this.segProjection = this.conditionProjection;
    }
    this.conditionProjection.ensureBuilt();
    this.segProjection.ensureBuilt();
    if (this.pooling === 'attention') {
      // Zero scores: attention pooling starts out as mean pooling.
      this.poolScore = this.addParam('pool_score', [this.llmDim], tf.initializers.zeros());
    }
    super.build([]);
  }

  private parseRules() {
    return { padId: this.padId, vocabSize: this.vocabSize, requireSeg: this.requireSeg, emptyPhrase: this.emptyPhrase };
  }

  /**
   * Parse the token ids of a batch with this adapter's special tokens and rules (no tensors
   * needed); see {@link parseSpecialTokens}.
   */
  parse(tokenIds: TokenIdsInput, attentionMask: TokenMaskInput | null = null): ParsedTokens {
    return parseSpecialTokens(tokenIds, { ...this.parseRules(), specialTokens: this.specialTokens, attentionMask });
  }

  private prepare(inputs: LlmConditionInputs): Prepared {
    if (inputs == null || typeof inputs !== 'object') {
      throw new ValueError('inputs: expected { tokenIds, hiddenStates, ... }', 'inputs');
    }
    const dims = checkShapes(
      { hiddenStates: { tensor: inputs.hiddenStates, axes: ['batch', 'tokens', 'llmDim'], dtypes: ['float32'] } },
      { llmDim: this.llmDim },
    );
    const batch = dims.batch!;
    const tokens = dims.tokens!;
    const { tokenIds } = inputs;
    if (tokenIds instanceof tf.Tensor) {
      checkShapes({ tokenIds: { tensor: tokenIds, axes: ['batch', 'tokens'], dtypes: ['int32'] } }, dims);
    } else {
      const rows = readTokenRows(tokenIds);
      const expected = `[batch=${batch}, tokens=${tokens}] (as hiddenStates)`;
      if (rows.length !== batch) {
        throw new ShapeError('tokenIds', expected, [rows.length, rows[0]?.length ?? 0], `batch: ${rows.length} ≠ ${batch}`);
      }
      rows.forEach((row, i) => {
        if (row.length !== tokens) {
          throw new ShapeError('tokenIds', expected, [rows.length, row.length], `row ${i}: tokens: ${row.length} ≠ ${tokens}`);
        }
      });
    }
    const parsed = this.parse(tokenIds, inputs.attentionMask ?? null);
    const plan = buildPoolingPlan(parsed, {
      pooling: this.pooling,
      includeTags: this.includeTags,
      tokens,
    });
    return { parsed, plan };
  }

  /** `[batch, conditions, tokens]` phrase pooling weights (softmax applied for attention pooling). */
  private spanWeights(plan: PoolingPlan, hidden: tf.Tensor3D): tf.Tensor3D {
    const { batch: B, maxSpans: S, tokens: T } = plan;
    const given = tf.tensor3d(plan.spanWeights, [B, S, T]);
    if (this.pooling !== 'attention') return given;
    // weights = softmax over the phrase's tokens of h_t·w: non-members get -1e9 (weight 0),
    // and the product with membership zeroes padded rows.
    const scores = tf.reshape(
      tf.matMul(tf.reshape(hidden, [B * T, this.llmDim]), tf.reshape(this.poolScore!.read(), [this.llmDim, 1])),
      [B, 1, T],
    );
    const logits = tf.add(scores, tf.mul(tf.sub(given, 1), 1e9));
    return tf.mul(tf.softmax(logits), given);
  }

  /** `[batch, conditions + targets, llmDim]` pooled rows (phrases first, then `<SEG>`s), or null when both axes are empty. */
  private pooledRows(plan: PoolingPlan, hidden: tf.Tensor3D): tf.Tensor3D | null {
    const { batch: B, maxSpans: S, maxSeg: K, tokens: T } = plan;
    const parts: tf.Tensor3D[] = [];
    if (S > 0) parts.push(this.spanWeights(plan, hidden));
    if (K > 0) parts.push(tf.tensor3d(plan.segSelection, [B, K, T]));
    if (parts.length === 0 || B === 0) return null;
    // C_LLM ‖ S_LLM = [P ; Q] · H, one batched matmul (fast on wasm with core's kernels).
    const weights = parts.length === 2 ? tf.concat(parts, 1) : parts[0]!;
    return tf.matMul<tf.Tensor3D>(weights, hidden);
  }

  private masks(plan: PoolingPlan) {
    const { batch: B, maxSpans: S, maxSeg: K } = plan;
    return {
      conditionMask: tf.tensor2d(plan.conditionMask, [B, S]),
      segMask: tf.tensor2d(plan.segMask, [B, K]),
      segConditionMask: tf.tensor3d(plan.segConditionMask, [B, K, S]),
    };
  }

  private split(rows: tf.Tensor3D | null, plan: PoolingPlan, width: number): [tf.Tensor3D, tf.Tensor3D] {
    const { batch: B, maxSpans: S, maxSeg: K } = plan;
    if (rows === null) return [tf.zeros<tf.Rank.R3>([B, S, width]), tf.zeros<tf.Rank.R3>([B, K, width])];
    const phrase = S > 0 ? tf.slice(rows, [0, 0, 0], [B, S, width]) : tf.zeros<tf.Rank.R3>([B, 0, width]);
    const seg = K > 0 ? tf.slice(rows, [0, S, 0], [B, K, width]) : tf.zeros<tf.Rank.R3>([B, 0, width]);
    return [phrase, seg];
  }

  /**
   * Pool without projecting: `C_LLM` (one row per phrase) and `S_LLM` (one row per `<SEG>`)
   * in the language model's width, with masks and positions. Leak-free.
   */
  pool(inputs: LlmConditionInputs): PooledLlmStates {
    this.ensureBuilt();
    const { parsed, plan } = this.prepare(inputs);
    return tidy(() => {
      const [phraseStates, segStates] = this.split(this.pooledRows(plan, inputs.hiddenStates), plan, this.llmDim);
      return {
        phraseStates,
        segStates,
        ...this.masks(plan),
        spans: parsed.items.map((it) => it.spans),
        segPositions: parsed.items.map((it) => it.segPositions),
      };
    });
  }

  /**
   * Compute FlowSeg's conditions and segmentation embeddings from token ids and hidden
   * states. Throws a {@link ShapeError} when `tokenIds` and `hiddenStates` disagree on
   * `batch` or `tokens`, a `TokenSequenceError` for malformed sequences. Leak-free.
   */
  forward(inputs: LlmConditionInputs): LlmConditions {
    this.ensureBuilt();
    const { parsed, plan } = this.prepare(inputs);
    const training = inputs.training ?? false;
    return tidy(() => {
      const rows = this.pooledRows(plan, inputs.hiddenStates);
      let conditions: tf.Tensor3D;
      let segEmbeddings: tf.Tensor3D;
      if (rows !== null && !this.separateProjections) {
        [conditions, segEmbeddings] = this.split(this.conditionProjection.forward(rows, training), plan, this.decoderDim);
      } else {
        const [phraseStates, segStates] = this.split(rows, plan, this.llmDim);
        conditions = plan.maxSpans > 0 && plan.batch > 0
          ? this.conditionProjection.forward(phraseStates, training)
          : tf.zeros<tf.Rank.R3>([plan.batch, plan.maxSpans, this.decoderDim]);
        segEmbeddings = plan.maxSeg > 0 && plan.batch > 0
          ? this.segProjection.forward(segStates, training)
          : tf.zeros<tf.Rank.R3>([plan.batch, plan.maxSeg, this.decoderDim]);
      }
      const masks = this.masks(plan);
      // φ_llm(0) ≠ 0 (biases): padded rows are zeroed explicitly.
      return {
        conditions: tf.mul(conditions, tf.expandDims(masks.conditionMask, -1)),
        segEmbeddings: tf.mul(segEmbeddings, tf.expandDims(masks.segMask, -1)),
        ...masks,
        spans: parsed.items.map((it) => it.spans),
        segPositions: parsed.items.map((it) => it.segPositions),
      };
    });
  }

  /**
   * Layers-API entry: `[tokenIds (int32 [batch, tokens]), hiddenStates, attentionMask?]` →
   * `[conditions, conditionMask, segEmbeddings, segMask, segConditionMask]`. Eager only:
   * the output sizes depend on the token values.
   */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length < 2 || list.length > 3) {
      throw new ValueError(
        `inputs: expected [tokenIds, hiddenStates] or [tokenIds, hiddenStates, attentionMask], received ${list.length} tensor(s)`,
        'inputs',
      );
    }
    const out = this.forward({
      tokenIds: list[0] as tf.Tensor2D,
      hiddenStates: list[1] as tf.Tensor3D,
      attentionMask: (list[2] as tf.Tensor2D | undefined) ?? null,
      training: kwargs?.training ?? false,
    });
    return [out.conditions, out.conditionMask, out.segEmbeddings, out.segMask, out.segConditionMask];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const batch = (Array.isArray(inputShape[0]) ? (inputShape[0] as tf.Shape)[0] : inputShape[0]) ?? null;
    const d = this.decoderDim;
    return [[batch, null, d], [batch, null], [batch, null, d], [batch, null], [batch, null, null]];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      llmDim: this.llmDim,
      decoderDim: this.decoderDim,
      specialTokens: { ...this.specialTokens },
      projectionHiddenDim: this.projectionHiddenDim,
      dropout: this.dropout,
      separateProjections: this.separateProjections,
      pooling: this.pooling,
      includeTags: this.includeTags,
      padId: this.padId,
      vocabSize: this.vocabSize,
      requireSeg: this.requireSeg,
      emptyPhrase: this.emptyPhrase,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(LlmConditionAdapter);
