import { describe, expect, it } from 'vitest';
import { compactFeatureTaps } from '../src/index.js';

describe('compactFeatureTaps', () => {
  it('lists the distinct pixels in order of first use and rewrites the taps as their rows (by hand)', () => {
    const taps = Int32Array.from([7, -1, 3, 7, 9, 3, -1, 0]);
    const { pixels, taps: rows } = compactFeatureTaps(taps, 10);
    expect(Array.from(pixels)).toEqual([7, 3, 9, 0]);
    expect(Array.from(rows)).toEqual([0, -1, 1, 0, 2, 1, -1, 3]);
    // Reading the rows back through `pixels` gives the original taps.
    expect(Array.from(rows, (r) => (r < 0 ? -1 : pixels[r]!))).toEqual(Array.from(taps));
  });

  it('handles no taps and only-outside taps', () => {
    expect(Array.from(compactFeatureTaps(new Int32Array(0), 4).pixels)).toEqual([]);
    const outside = compactFeatureTaps(Int32Array.from([-1, -1]), 4);
    expect(Array.from(outside.pixels)).toEqual([]);
    expect(Array.from(outside.taps)).toEqual([-1, -1]);
  });

  it('refuses a tap outside the pixel range', () => {
    expect(() => compactFeatureTaps(Int32Array.from([0, 4]), 4)).toThrow(/taps\[1\] = 4 is outside \[0, 4\)/);
  });
});
