import { describe, it, expect } from 'vitest';
import { ValueError, requireFinite, requireInt, requirePositiveInt, requireRate } from '@flowseg/core';

describe('config value checks', () => {
  it('return accepted values unchanged', () => {
    expect(requirePositiveInt(3, 'dim')).toBe(3);
    expect(requireInt(-2, 'seed')).toBe(-2);
    expect(requireFinite(-0.5, 'bias')).toBe(-0.5);
    expect(requireRate(0, 'dropout')).toBe(0);
    expect(requireRate(0.99, 'dropout')).toBe(0.99);
  });

  it('throw a ValueError naming the argument, the expectation and the value', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => requirePositiveInt(0, 'dim'), /^dim: expected a positive integer, received 0$/],
      [() => requirePositiveInt(2.5, 'dim'), /received 2\.5$/],
      [() => requirePositiveInt('4', 'dim'), /received 4$/],
      [() => requireInt(0.5, 'seed'), /^seed: expected an integer, received 0\.5$/],
      [() => requireFinite(Infinity, 'bias'), /^bias: expected a finite number, received Infinity$/],
      [() => requireFinite(undefined, 'bias'), /received undefined$/],
      [() => requireRate(1, 'dropout'), /^dropout: expected a rate in \[0, 1\), received 1$/],
      [() => requireRate(-0.1, 'dropout'), /received -0\.1$/],
      [() => requireRate(Number.NaN, 'dropout'), /received NaN$/],
      [() => requireRate('0.5', 'dropout'), /received 0\.5$/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(ValueError);
      expect(call).toThrow(message);
    }
    expect(() => requireInt(1.5, 'seed')).toThrow(expect.objectContaining({ argument: 'seed' }));
  });
});
