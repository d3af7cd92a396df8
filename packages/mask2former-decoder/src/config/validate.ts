import { ValueError } from '@flowseg/core';

/** @internal Throws a {@link ValueError} naming `field` unless `value` is a positive integer. */
export function requirePositiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValueError(`${field}: expected a positive integer, received ${String(value)}`, field);
  }
  return value;
}

/** @internal Throws unless `value` is a rate in `[0, 1)`. */
export function requireRate(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new ValueError(`${field}: expected a rate in [0, 1), received ${String(value)}`, field);
  }
  return value;
}

/** @internal Throws unless `value` is a finite number ≥ 0. */
export function requireNonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValueError(`${field}: expected a finite number ≥ 0, received ${String(value)}`, field);
  }
  return value;
}

/** @internal Throws unless `value` is a finite number. */
export function requireFinite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`${field}: expected a finite number, received ${String(value)}`, field);
  }
  return value;
}

/** @internal Throws unless `value` is a boolean. */
export function requireBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') {
    throw new ValueError(`${field}: expected a boolean, received ${String(value)}`, field);
  }
  return value;
}
