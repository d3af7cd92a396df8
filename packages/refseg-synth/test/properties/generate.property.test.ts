import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { FAMILIES, SPLITS, SynthValueError, generateSample } from '@flowseg/refseg-synth';

describe('generateSample over arbitrary arguments', () => {
  it('a consistent sample (masks inside the image, targets naming real objects) or a SynthValueError', () => {
    fc.assert(
      fc.property(
        fc.oneof({ arbitrary: fc.constantFrom(...SPLITS), weight: 5 }, fc.constantFrom('TRAIN', '', 'dev')),
        fc.oneof({ arbitrary: fc.constantFrom(...FAMILIES), weight: 5 }, fc.constantFrom('other', '')),
        fc.oneof({ arbitrary: fc.integer({ min: 0, max: 50_000 }), weight: 5 }, fc.constantFrom(-1, 1.5, NaN, Infinity, 2 ** 53)),
        fc.oneof(
          { arbitrary: fc.constant({}), weight: 4 },
          fc.record({ width: fc.constantFrom(1, 8, 33, 0, -4, 1.5, NaN), height: fc.constantFrom(1, 8, 64, 0, NaN) }),
        ),
        (split, family, index, options) => {
          let sample;
          try {
            sample = generateSample(split as never, family as never, index, options);
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(SynthValueError);
            return;
          }
          const { width, height } = sample.scene;
          expect(sample.scene.image.length).toBe(width * height * 3);
          for (const m of sample.scene.masks) expect(m.length).toBe(width * height);
          for (const t of sample.targets) expect(sample.scene.masks[t.objectId]).toBeDefined();
        },
      ),
      { numRuns: 150, seed: 91 },
    );
  });
});
