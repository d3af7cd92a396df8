/**
 * A child seed for the `index`-th random part of a seeded component, so that sub-layers
 * built from one seed differ from each other but stay reproducible. `undefined` stays
 * `undefined` (unseeded). The mix is a 32-bit integer hash (splitmix-style) of both inputs.
 */
export function deriveSeed(seed: number | undefined, index: number): number | undefined {
  if (seed === undefined) return undefined;
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 1; // non-negative 31-bit
}
