import { ValueError } from './FlowSegError.js';

/**
 * Throw a {@link ValueError} naming `argument` unless `value` is a positive integer; the
 * message reads `"<argument>: expected a positive integer, received <value>"`.
 * @returns `value`, typed as a number.
 */
export function requirePositiveInt(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValueError(`${argument}: expected a positive integer, received ${String(value)}`, argument);
  }
  return value;
}

/**
 * Throw a {@link ValueError} naming `argument` unless `value` is an integer (e.g. a seed).
 * @returns `value`, typed as a number.
 */
export function requireInt(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValueError(`${argument}: expected an integer, received ${String(value)}`, argument);
  }
  return value;
}

/**
 * Throw a {@link ValueError} naming `argument` unless `value` is a finite number.
 * @returns `value`, typed as a number.
 */
export function requireFinite(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`${argument}: expected a finite number, received ${String(value)}`, argument);
  }
  return value;
}

/**
 * Throw a {@link ValueError} naming `argument` unless `value` is a rate in `[0, 1)` (dropout).
 * @returns `value`, typed as a number.
 */
export function requireRate(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new ValueError(`${argument}: expected a rate in [0, 1), received ${String(value)}`, argument);
  }
  return value;
}

/**
 * Throw a {@link ValueError} naming `argument` unless `value` is a boolean (a flag: nothing
 * truthy is coerced).
 * @returns `value`, typed as a boolean.
 */
export function requireBoolean(value: unknown, argument: string): boolean {
  if (typeof value !== 'boolean') {
    throw new ValueError(`${argument}: expected a boolean, received ${String(value)}`, argument);
  }
  return value;
}
