/** A table cell: numbers are formatted by {@link printTable}, strings printed as they are. */
export type Cell = string | number;

/** Print rows as an aligned text table (numbers right-aligned, 2 decimals unless integral). */
export function printTable(title: string, rows: ReadonlyArray<Record<string, Cell>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: Cell | undefined): string =>
    v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[], numeric: boolean[]) =>
    cells.map((s, i) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  const numericCol = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] === '' || r[c] === '-'));
  console.log(line(cols, numericCol));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c])), numericCol));
}

/** `x` rounded to `digits` significant decimals, as a number (for the JSON line). */
export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Milliseconds with a precision that suits their size. */
export const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** A signed percentage. */
export const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
