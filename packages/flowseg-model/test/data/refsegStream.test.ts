import { describe, it, expect } from 'vitest';
import { generateSample } from '@flowseg/refseg-synth';
import { refsegExamples, DEFAULT_FAMILY_MIX } from '../../src/index.js';

const small = { width: 32, height: 32 };
/** Identifies a sample by its expression and its scene's pixels. */
const key = (e: { prompt: string; image: ArrayLike<number> }) => `${e.prompt}|${Buffer.from(Uint8Array.from(e.image)).toString('base64')}`;

describe('refsegExamples', () => {
  it('gives each appearance of a family its next sample: weights 2:1 read attribute 0, relational 0, attribute 1, attribute 2, …', () => {
    const got = refsegExamples('train', { attribute: 2, relational: 1 }, 0, 6, small).map(key);
    // Round-robin cycle [attribute, relational, attribute]; the k-th attribute slot reads sample k.
    const want = [
      generateSample('train', 'attribute', 0, small),
      generateSample('train', 'relational', 0, small),
      generateSample('train', 'attribute', 1, small),
      generateSample('train', 'attribute', 2, small),
      generateSample('train', 'relational', 1, small),
      generateSample('train', 'attribute', 3, small),
    ].map((s) => key({ prompt: s.prompt, image: s.scene.image }));
    expect(got).toEqual(want);
  });

  it('never repeats a sample within a cycle of the default mix, and a window equals the same slice of a longer stream', () => {
    const stream = refsegExamples('train', DEFAULT_FAMILY_MIX, 0, 22, small);
    const keys = stream.map(key);
    expect(new Set(keys).size).toBe(keys.length);
    // Consecutive examples (a batch) mix families instead of repeating one.
    expect(new Set(stream.slice(0, 5).map((e) => e.family)).size).toBe(5);
    const window = refsegExamples('train', DEFAULT_FAMILY_MIX, 7, 9, small);
    expect(window.map(key)).toEqual(stream.slice(7, 16).map(key));
  });

  it('refuses a mix without a positive weight or with a non-integer one, naming it', () => {
    expect(() => refsegExamples('train', { attribute: 0 }, 0, 1)).toThrow(/mix: expected at least one family/);
    expect(() => refsegExamples('train', { attribute: 1.5 }, 0, 1)).toThrow(/mix\.attribute: expected a non-negative integer weight/);
  });
});
