import { ValueError } from '@flowseg/core';

/**
 * Throw unless `value` is an odd integer ≥ 3. Even windows are refused because TF.js's
 * 'same' padding puts the extra pixel on the bottom/right, which would shift the band.
 */
export function requireOddKernel(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 3 || value % 2 === 0) {
    throw new ValueError(`${argument}: expected an odd integer ≥ 3, received ${String(value)}`, argument);
  }
  return value;
}

/** Throw unless `value` is a finite number in `[lo, hi)` (or `(lo, hi)` when `openLow`). */
export function requireInRange(value: unknown, argument: string, lo: number, hi: number, openLow = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (openLow ? value > lo : value >= lo) && value < hi;
  if (!ok) {
    throw new ValueError(
      `${argument}: expected a number in ${openLow ? '(' : '['}${lo}, ${hi}), received ${String(value)}`,
      argument,
    );
  }
  return value as number;
}

/** Throw unless `value` is one of `choices`. */
export function requireChoice<T extends string>(value: unknown, argument: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new ValueError(
      `${argument}: expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, received ${JSON.stringify(
        value,
      )}`,
      argument,
    );
  }
  return value as T;
}
