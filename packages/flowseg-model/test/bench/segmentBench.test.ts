import { describe, expect, it } from 'vitest';
import { runScript } from '../support/runScript.js';

/** `npm run bench:segment` runs end to end on the shipped checkpoint (a smoke test: its timings are not checked). */
describe('bench:segment', () => {
  it('reports every case, no leaks, and the same ids with and without the decoding cache', async () => {
    const out = await runScript('segment.bench.ts', ['--threads', '1', '--rounds', '1'], 'bench');
    const last = JSON.parse(out.trim().split('\n').at(-1)!) as {
      medianMsPerRequest: Record<string, number>;
      tensorsLeakedPerCall: Record<string, number>;
      decodingCacheSameIds: boolean;
      answers: string[];
    };
    expect(Object.keys(last.medianMsPerRequest).sort()).toEqual(
      ['forwardPrefixComputed', 'forwardPrefixGiven', 'generateIncremental', 'generateWholeSequence', 'languagePrefix', 'segmentBatch', 'segmentGenerated', 'segmentGivenAnswer'].sort(),
    );
    for (const ms of Object.values(last.medianMsPerRequest)) expect(ms).toBeGreaterThan(0);
    expect(Object.values(last.tensorsLeakedPerCall).every((n) => n === 0)).toBe(true);
    expect(last.decodingCacheSameIds).toBe(true);
    expect(last.answers).toHaveLength(5);
    expect(out).toMatch(/the decoding cache generates [\d.]+× faster \(the same ids\)/);
  }, 300_000);
});
