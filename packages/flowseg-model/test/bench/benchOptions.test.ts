import { describe, it, expect } from 'vitest';
import { parseBenchOptions } from '../../bench/cost/options.js';

/** `npm run bench`'s command line. */
describe('parseBenchOptions', () => {
  it('defaults: wasm, both presets, 5 rounds and 3× as many paired overhead rounds', () => {
    expect(parseBenchOptions([])).toEqual({ backend: 'wasm', threads: undefined, presets: ['paper', 'small'], rounds: 5, overheadRounds: 15, noScaling: false });
    expect(parseBenchOptions(['--rounds', '9']).overheadRounds).toBe(27);
    expect(parseBenchOptions(['--rounds', '9', '--overhead-rounds', '40', '--presets', 'paper', '--no-scaling'])).toMatchObject({ rounds: 9, overheadRounds: 40, presets: ['paper'], noScaling: true });
  });

  it('rejects bad values and unknown options with one-line messages naming them', () => {
    expect(() => parseBenchOptions(['--overhead-rounds', '0'])).toThrow(/^--overhead-rounds: expected a positive integer, received 0$/);
    expect(() => parseBenchOptions(['--overhead-rounds'])).toThrow(/^--overhead-rounds: expected a value$/);
    expect(() => parseBenchOptions(['--rounds', '2.5'])).toThrow(/^--rounds: /);
    expect(() => parseBenchOptions(['--presets', 'huge'])).toThrow(/^--presets: /);
    expect(() => parseBenchOptions(['--fast'])).toThrow(/^unknown option --fast$/);
  });
});
