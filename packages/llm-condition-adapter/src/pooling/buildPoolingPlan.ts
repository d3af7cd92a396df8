import { ValueError } from '@flowseg/core';
import type { ParsedTokens, PhraseSpan } from '../tokens/parseSpecialTokens.js';

/**
 * How a phrase's hidden states become one condition row (`C_LLM`):
 * - `'mean'` (default): mean over the phrase's tokens;
 * - `'last'`: the phrase's last token (with `includeTags`, the `</p>` token — in a causal
 *   LLM the state that has read the whole phrase);
 * - `'attention'`: softmax-weighted mean with weights `softmax_t(h_t · w)` over the phrase's
 *   tokens, `w [llmDim]` a learned scoring vector (initialised to 0, i.e. starting as `'mean'`).
 */
export type PhrasePooling = 'mean' | 'last' | 'attention';

/** All pooling choices, for validation and docs. */
export const PHRASE_POOLINGS: readonly PhrasePooling[] = ['mean', 'last', 'attention'];

/** Options of {@link buildPoolingPlan}. */
export interface PoolingPlanOptions {
  /** Pooling of phrase tokens (default `'mean'`). */
  readonly pooling?: PhrasePooling;
  /** Pool over the `<p>` and `</p>` tokens too (default false: only the tokens strictly between them). */
  readonly includeTags?: boolean;
  /** Length of the `tokens` axis (default: the parse's longest row). Must be ≥ every row's length. */
  readonly tokens?: number;
}

/**
 * Dense, row-major matrices that turn hidden states `H [batch, tokens, llmDim]` into FlowSeg's
 * inputs by batched matmul (`C_LLM = spanWeights · H`, `S_LLM = segSelection · H`). Plain
 * JavaScript: build once per batch, upload as tensors. Padded rows are all zero.
 */
export interface PoolingPlan {
  /** Number of sequences (`batch`). */
  readonly batch: number;
  /** Length of the `tokens` axis. */
  readonly tokens: number;
  /** Phrase axis length (`conditions`): most phrases in a sequence, possibly 0. */
  readonly maxSpans: number;
  /** `<SEG>` axis length (`targets`): most `<SEG>`s in a sequence, possibly 0. */
  readonly maxSeg: number;
  /**
   * `[batch, conditions, tokens]`: for `'mean'` the weights `1/n` on a phrase's `n` pooled
   * tokens; for `'last'` a one-hot row; for `'attention'` the 0/1 membership of the pooled
   * tokens (the softmax is applied to it on the tensor side).
   */
  readonly spanWeights: Float32Array;
  /** `[batch, targets, tokens]`: one-hot at each `<SEG>` position. */
  readonly segSelection: Float32Array;
  /** `[batch, conditions]`: 1 = real phrase, 0 = padding. */
  readonly conditionMask: Float32Array;
  /** `[batch, targets]`: 1 = real `<SEG>`, 0 = padding. */
  readonly segMask: Float32Array;
  /** `[batch, targets, conditions]`: 1 where `<SEG>` k is tied to phrase s (see `ParsedSequence.segSpans`). */
  readonly segConditionMask: Float32Array;
}

/** Token positions a phrase is pooled over. */
export function pooledPositions(span: PhraseSpan, includeTags: boolean): number[] {
  return includeTags ? [span.open, ...span.content, span.close] : [...span.content];
}

/**
 * Build the {@link PoolingPlan} of a parsed batch.
 * @param parsed - output of `parseSpecialTokens`.
 * @param options - pooling choice, tag inclusion, tokens axis length.
 */
export function buildPoolingPlan(parsed: ParsedTokens, options: PoolingPlanOptions = {}): PoolingPlan {
  const pooling = options.pooling ?? 'mean';
  if (!PHRASE_POOLINGS.includes(pooling)) {
    throw new ValueError(`pooling: expected one of ${PHRASE_POOLINGS.join(', ')}, received ${String(pooling)}`, 'pooling');
  }
  const includeTags = options.includeTags ?? false;
  if (typeof includeTags !== 'boolean') {
    throw new ValueError(`includeTags: expected a boolean, received ${String(includeTags)}`, 'includeTags');
  }
  const T = options.tokens ?? parsed.tokens;
  if (!Number.isInteger(T) || T < parsed.tokens) {
    throw new ValueError(`tokens: expected an integer ≥ ${parsed.tokens} (the longest row), received ${T}`, 'tokens');
  }
  const { batch: B, maxSpans: S, maxSeg: K } = parsed;
  const spanWeights = new Float32Array(B * S * T);
  const segSelection = new Float32Array(B * K * T);
  const conditionMask = new Float32Array(B * S);
  const segMask = new Float32Array(B * K);
  const segConditionMask = new Float32Array(B * K * S);
  parsed.items.forEach((item, b) => {
    item.spans.forEach((span, s) => {
      conditionMask[b * S + s] = 1;
      const row = (b * S + s) * T;
      const positions = pooledPositions(span, includeTags);
      if (pooling === 'last') spanWeights[row + positions[positions.length - 1]!] = 1;
      else {
        const w = pooling === 'mean' ? 1 / positions.length : 1;
        for (const t of positions) spanWeights[row + t] = w;
      }
    });
    item.segPositions.forEach((t, k) => {
      segMask[b * K + k] = 1;
      segSelection[(b * K + k) * T + t] = 1;
      for (const s of item.segSpans[k]!) segConditionMask[(b * K + k) * S + s] = 1;
    });
  });
  return { batch: B, tokens: T, maxSpans: S, maxSeg: K, spanWeights, segSelection, conditionMask, segMask, segConditionMask };
}
