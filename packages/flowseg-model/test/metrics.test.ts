import { describe, it, expect } from 'vitest';
import { maskOverlap, sampleIoU } from '../src/evaluation/maskIoU.js';
import { segmentationMetrics, oracleCIoU, failureRescue } from '../src/evaluation/segmentationMetrics.js';

describe('segmentation metrics', () => {
  it('counts overlaps and IoU by hand', () => {
    // prediction 1 1 0 0, target 0 1 1 0 → I = 1, U = 3
    const o = maskOverlap([1, 1, 0, 0], [0, 255, 1, 0]);
    expect(o).toEqual({ intersection: 1, union: 3 });
    expect(sampleIoU(o)).toBeCloseTo(1 / 3);
    expect(sampleIoU(maskOverlap([0, 0], [0, 0]))).toBe(1); // empty target, empty prediction
    expect(sampleIoU(maskOverlap([1, 0], [0, 0]))).toBe(0); // empty target, something predicted
    expect(() => maskOverlap([1], [1, 0])).toThrow(/prediction/);
  });

  it('cIoU accumulates, gIoU averages', () => {
    const samples = [
      { intersection: 1, union: 3 },
      { intersection: 8, union: 9 },
      { intersection: 0, union: 0 },
    ];
    const m = segmentationMetrics(samples);
    expect(m.cIoU).toBeCloseTo(9 / 12);
    expect(m.gIoU).toBeCloseTo((1 / 3 + 8 / 9 + 1) / 3);
    expect(m.count).toBe(3);
  });

  it('oracle takes the best candidate per sample', () => {
    const oracle = oracleCIoU([
      [
        { intersection: 0, union: 10 },
        { intersection: 5, union: 6 },
      ],
      [{ intersection: 2, union: 4 }],
    ]);
    expect(oracle).toBeCloseTo(7 / 10);
    expect(() => oracleCIoU([[]])).toThrow(/candidates\[0\]/);
  });

  it('failure rescue on the baseline failure subset', () => {
    const r = failureRescue([0.1, 0.9, 0.3, 0.05], [0.6, 0.2, 0.4, 0.7], 0.5);
    expect(r.count).toBe(3);
    expect(r.meanIoUBefore).toBeCloseTo((0.1 + 0.3 + 0.05) / 3);
    expect(r.meanIoUAfter).toBeCloseTo((0.6 + 0.4 + 0.7) / 3);
    expect(r.rescueRate).toBeCloseTo(2 / 3);
    expect(failureRescue([0.1, 0.9, 0.3, 0.05], [0.6, 0.2, 0.4, 0.7], 0.2).count).toBe(2);
    expect(() => failureRescue([0.1], [], 0.5)).toThrow(/model/);
  });
});
