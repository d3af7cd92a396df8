import { ValueError } from '@flowseg/core';

/** An optimal assignment, like SciPy's `linear_sum_assignment`. */
export interface Assignment {
  /** Assigned rows, ascending (`min(rows, cols)` entries). */
  readonly rowIndices: Int32Array;
  /** Column assigned to each entry of `rowIndices`. */
  readonly colIndices: Int32Array;
  /** Sum of the assigned costs. */
  readonly totalCost: number;
}

/**
 * Minimum-cost assignment (Hungarian algorithm with potentials, Jonker–Volgenant style
 * shortest augmenting paths), exact, `O(n²·m)` for `n = min(rows, cols)`, `m = max(rows, cols)`.
 * Rectangular matrices assign every row (rows ≤ cols) or every column (rows > cols).
 *
 * @param cost - row-major costs, `rows × cols` entries, all finite.
 * @param rows - number of rows (e.g. queries).
 * @param cols - number of columns (e.g. targets).
 * @throws ValueError when sizes disagree or a cost is not finite.
 */
export function linearSumAssignment(cost: Float64Array | Float32Array, rows: number, cols: number): Assignment {
  for (const [field, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ValueError(`${field}: expected an integer ≥ 0, received ${v}`, field);
  }
  if (cost.length !== rows * cols) {
    throw new ValueError(`cost: expected ${rows}×${cols} = ${rows * cols} entries, received ${cost.length}`, 'cost');
  }
  for (let i = 0; i < cost.length; i++) {
    if (!Number.isFinite(cost[i]!)) throw new ValueError(`cost: entry ${i} is ${cost[i]}, expected a finite number`, 'cost');
  }
  if (rows === 0 || cols === 0) return { rowIndices: new Int32Array(0), colIndices: new Int32Array(0), totalCost: 0 };
  // The solver assigns each of n ≤ m "rows"; transpose when there are more rows than columns.
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = transposed ? (i: number, j: number) => cost[j * cols + i]! : (i: number, j: number) => cost[i * cols + j]!;
  const match = solve(n, m, at); // match[i] = column of row i
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) pairs.push(transposed ? [match[i]!, i] : [i, match[i]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const rowIndices = Int32Array.from(pairs, (p) => p[0]);
  const colIndices = Int32Array.from(pairs, (p) => p[1]);
  let totalCost = 0;
  for (const [r, c] of pairs) totalCost += cost[r * cols + c]!;
  return { rowIndices, colIndices, totalCost };
}

/**
 * Shortest-augmenting-path Hungarian algorithm on an `n × m` matrix, `n ≤ m`, with row
 * potentials `u` and column potentials `v` (reduced cost `a(i, j) − u_i − v_j ≥ 0`).
 * Rows are 1-based internally; column 0 is a virtual start column.
 */
function solve(n: number, m: number, a: (i: number, j: number) => number): Int32Array {
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const rowOfCol = new Int32Array(m + 1); // 0 = free
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    rowOfCol[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOfCol[j0]!;
      let delta = Infinity;
      let j1 = -1;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const reduced = a(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (reduced < minv[j]!) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[rowOfCol[j]!] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (rowOfCol[j0] !== 0);
    // Augment along the path back to the virtual column.
    do {
      const j1 = way[j0]!;
      rowOfCol[j0] = rowOfCol[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const match = new Int32Array(n);
  for (let j = 1; j <= m; j++) if (rowOfCol[j]! > 0) match[rowOfCol[j]! - 1] = j - 1;
  return match;
}
