import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { FlowSegError, selectBackend } from '@flowseg/core';
import { expectFiniteOrTypedError } from '@flowseg/core/testing';
import { LlmConditionAdapter, parseSpecialTokens, TokenSequenceError } from '@flowseg/llm-condition-adapter';
import { IDS, P, E, S, PAD, randoms } from '../helpers.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const LLM = 4;
/** Mostly well-formed tokens; sometimes ids a real LLM never emits (negative, fractional, huge, NaN). */
const token = fc.oneof(
  { arbitrary: fc.constantFrom(P, E, S, PAD), weight: 3 },
  { arbitrary: fc.integer({ min: 10, max: 40 }), weight: 4 },
  { arbitrary: fc.constantFrom(-1, 1.5, 2 ** 31, NaN, 100), weight: 1 },
);
/** A well-formed answer: `<p> w… </p> <SEG>` repeated (long condition lists included). */
const wellFormed = (phrases: number) => Array.from({ length: phrases }, (_, i) => [P, 10 + (i % 20), E, S]).flat();

function hidden(b: number, t: number, d: number, kind: 'normal' | 'large' | 'nan', dtype: 'float32' | 'int32'): tf.Tensor3D {
  const data = randoms(b * t * d, b * 31 + t);
  if (kind === 'large') data.forEach((v, i) => (data[i] = v * 1e4));
  if (kind === 'nan' && data.length > 0) data[0] = NaN;
  return tf.tensor3d(dtype === 'int32' ? Int32Array.from(data, (v) => Math.round(v) | 0) : data, [b, t, d], dtype);
}

describe('LlmConditionAdapter over random token sequences and hidden states', () => {
  const adapter = new LlmConditionAdapter({ llmDim: LLM, decoderDim: 6, projectionHiddenDim: 5, specialTokens: IDS, padId: PAD, vocabSize: 64, seed: 1 });
  beforeAll(() => adapter.ensureBuilt());

  it('finite conditions or a typed error naming tokenIds / hiddenStates / attentionMask', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.array(token, { minLength: 0, maxLength: 12 }), { minLength: 0, maxLength: 3 }),
          fc.integer({ min: 1, max: 40 }).map((n) => [wellFormed(n)]), // up to 40 conditions in one row
        ),
        fc.record({
          hiddenWidth: fc.oneof({ arbitrary: fc.constant(LLM), weight: 4 }, fc.integer({ min: 0, max: 6 })),
          extraTime: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.constantFrom(-1, 1)),
          extraBatch: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.constant(1)),
          kind: fc.constantFrom<'normal' | 'large' | 'nan'>('normal', 'normal', 'large', 'nan'),
          dtype: fc.constantFrom<'float32' | 'int32'>('float32', 'float32', 'float32', 'int32'),
          mask: fc.constantFrom('none', 'ones', 'wrongLength'),
        }),
        (rows0, c) => {
          // Ragged rows are padded (a caller's job); the adapter sees rectangular input.
          const t = Math.max(0, ...rows0.map((r) => r.length));
          const rows = rows0.map((r) => [...r, ...new Array<number>(t - r.length).fill(PAD)]);
          const states = hidden(rows.length + c.extraBatch, Math.max(0, t + c.extraTime), c.hiddenWidth, c.kind, c.dtype);
          const attentionMask =
            c.mask === 'ones' ? rows.map((r) => r.map(() => 1)) : c.mask === 'wrongLength' ? rows.map((r) => [...r, 1].map(() => 1)) : null;
          const outcome = expectFiniteOrTypedError(() => adapter.forward({ tokenIds: rows, hiddenStates: states, attentionMask }), {
            arguments: ['tokenIds', 'hiddenStates', 'attentionMask'],
            allowNonFinite: c.kind === 'nan',
          });
          if (outcome.kind === 'error' && !(outcome.error instanceof TokenSequenceError)) {
            // A shape/dtype refusal must match a real disagreement.
            const disagree = c.hiddenWidth !== LLM || c.extraTime !== 0 || c.extraBatch !== 0 || c.dtype !== 'float32' || c.mask === 'wrongLength';
            expect(disagree || rows.length === 0 || t === 0, outcome.error.message).toBe(true);
          }
          states.dispose();
        },
      ),
      { numRuns: 120, seed: 21 },
    );
  });

  it('zero conditions (answers with only <SEG>) give finite SEG embeddings and an all-zero condition mask', () => {
    const rows = [[20, 21, S], [S, 22, 23]];
    const states = hidden(2, 3, LLM, 'large', 'float32');
    const out = adapter.forward({ tokenIds: rows, hiddenStates: states });
    expect(out.conditions.shape[1]).toBe(0);
    expect(Array.from(out.segEmbeddings.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([states, out.conditions, out.conditionMask, out.segEmbeddings, out.segMask, out.segConditionMask]);
  });

  it('parseSpecialTokens: any token rows parse or throw a FlowSegError naming tokenIds, never anything else', () => {
    fc.assert(
      fc.property(fc.array(fc.array(token, { maxLength: 16 }), { maxLength: 4 }), (rows) => {
        try {
          const parsed = parseSpecialTokens(rows, { specialTokens: IDS, padId: PAD, vocabSize: 64 });
          expect(parsed.items.length).toBe(rows.length);
        } catch (e) {
          expect(e).toBeInstanceOf(FlowSegError);
          expect((e as FlowSegError).argument ?? (e as Error).message).toMatch(/tokenIds/);
        }
      }),
      { numRuns: 200, seed: 22 },
    );
  });
});
