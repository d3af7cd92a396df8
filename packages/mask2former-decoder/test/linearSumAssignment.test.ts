import { describe, it, expect } from 'vitest';
import { ValueError } from '@flowseg/core';
import { SeededRandom, linearSumAssignment } from '@flowseg/mask2former-decoder';

/** Minimum total cost over every injective assignment of the smaller side (brute force). */
function bruteForce(cost: Float64Array, rows: number, cols: number): number {
  const transposed = rows > cols;
  const n = Math.min(rows, cols);
  const m = Math.max(rows, cols);
  const at = (i: number, j: number) => (transposed ? cost[j * cols + i]! : cost[i * cols + j]!);
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const go = (i: number, acc: number) => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      go(i + 1, acc + at(i, j));
      used[j] = false;
    }
  };
  go(0, 0);
  return best;
}

describe('linearSumAssignment', () => {
  it('equals brute force on random square and rectangular matrices', () => {
    const rng = new SeededRandom(7);
    let checked = 0;
    for (let rows = 1; rows <= 6; rows++) {
      for (let cols = 1; cols <= 6; cols++) {
        for (let trial = 0; trial < 6; trial++) {
          const cost = new Float64Array(rows * cols);
          // Mix of continuous costs and small integers (many ties).
          for (let i = 0; i < cost.length; i++) cost[i] = trial % 2 ? Math.floor(rng.next() * 4) : rng.next() * 20 - 10;
          const a = linearSumAssignment(cost, rows, cols);
          const k = Math.min(rows, cols);
          expect(a.rowIndices.length).toBe(k);
          expect(a.colIndices.length).toBe(k);
          expect(new Set(a.rowIndices).size).toBe(k);
          expect(new Set(a.colIndices).size).toBe(k);
          for (let i = 1; i < k; i++) expect(a.rowIndices[i]!).toBeGreaterThan(a.rowIndices[i - 1]!);
          let total = 0;
          a.rowIndices.forEach((r, i) => (total += cost[r * cols + a.colIndices[i]!]!));
          expect(total).toBeCloseTo(a.totalCost, 9);
          expect(total).toBeCloseTo(bruteForce(cost, rows, cols), 9);
          checked++;
        }
      }
    }
    expect(checked).toBe(216);
  });

  it('solves a known 3×3 case', () => {
    // Optimum: rows 0→1, 1→0, 2→2 (cost 1 + 2 + 2 = 5); the greedy 1→1 (0) leads to 7.
    const cost = Float64Array.from([4, 1, 3, 2, 0, 5, 3, 2, 2]);
    const a = linearSumAssignment(cost, 3, 3);
    expect([...a.rowIndices]).toEqual([0, 1, 2]);
    expect([...a.colIndices]).toEqual([1, 0, 2]);
    expect(a.totalCost).toBe(5);
  });

  it('handles empty sides and rejects bad input', () => {
    expect(linearSumAssignment(new Float64Array(0), 4, 0).rowIndices.length).toBe(0);
    expect(linearSumAssignment(new Float64Array(0), 0, 3).colIndices.length).toBe(0);
    expect(() => linearSumAssignment(new Float64Array(5), 2, 3)).toThrow(ValueError);
    expect(() => linearSumAssignment(Float64Array.from([0, NaN]), 1, 2)).toThrow(/cost: entry 1/);
    expect(() => linearSumAssignment(Float64Array.from([0, Infinity]), 2, 1)).toThrow(ValueError);
  });

  it('scales to the paper size (200 queries × 30 targets) with a valid optimum', () => {
    const rng = new SeededRandom(3);
    const rows = 200;
    const cols = 30;
    const cost = Float64Array.from({ length: rows * cols }, () => rng.next());
    const a = linearSumAssignment(cost, rows, cols);
    expect(a.rowIndices.length).toBe(30);
    // Optimality certificate for the transposed problem: no single swap improves the total.
    const assignedRow = new Map<number, number>();
    a.colIndices.forEach((c, i) => assignedRow.set(c, a.rowIndices[i]!));
    const free = [...Array(rows).keys()].filter((r) => ![...a.rowIndices].includes(r));
    for (let c = 0; c < cols; c++) {
      const r = assignedRow.get(c)!;
      for (const f of free) expect(cost[f * cols + c]!).toBeGreaterThanOrEqual(cost[r * cols + c]! - 1e-12);
    }
  });
});
