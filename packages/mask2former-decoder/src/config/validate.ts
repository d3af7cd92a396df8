import { ValueError } from '@flowseg/core';

/** @internal Throws unless `value` is a finite number ≥ 0. */
export function requireNonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValueError(`${field}: expected a finite number ≥ 0, received ${String(value)}`, field);
  }
  return value;
}
