import { describe, expect, it } from 'vitest';
import { main } from '../../../examples/adopt-bsf/src/main.js';

describe('examples/adopt-bsf', () => {
  it('trains a user-written head with standard layers and with BSF layers (tiny sizes)', async () => {
    const lines: string[] = [];
    const tiny = {
      imageSize: 8,
      hiddenDim: 16,
      numQueries: 4,
      numLayers: 2,
      numHeads: 2,
      ffnDim: 32,
      llmDim: 8,
      batchSize: 2,
      steps: 3,
    };
    const { standard, bsf } = await main({ ...tiny, log: (line) => lines.push(line) });
    for (const run of [standard, bsf]) {
      expect(run.losses).toHaveLength(3);
      expect(run.losses.every(Number.isFinite)).toBe(true);
    }
    // Swapping in BSF layers adds SR + CR per layer: 2·(4(D²+D) + 2D² + D + 4(D²+D)) parameters.
    const D = 16;
    expect(bsf.params - standard.params).toBe(2 * (8 * (D * D + D) + 2 * D * D + D));
    expect(lines[0]).toMatch(/^backend: /);
    expect(lines.some((l) => l.startsWith('bsf') && /loss/.test(l))).toBe(true);
    // Everything random is seeded: a second run repeats the losses exactly.
    const again = await main({ ...tiny, log: () => {} });
    expect(again.standard.losses).toEqual(standard.losses);
    expect(again.bsf.losses).toEqual(bsf.losses);
  });
});
