import { generateSample, type Family, type SynthOptions } from '@flowseg/refseg-synth';
import { ValueError } from '@flowseg/core';
import type { ReferringExample } from './ReferringExample.js';
import { fromRefSegSample } from './fromRefSegSample.js';

/** A weighted mix of synthetic-benchmark families. */
export type FamilyMix = Readonly<Partial<Record<Family, number>>>;

/** The default training mix: every family, single-target ones most often. */
export const DEFAULT_FAMILY_MIX: FamilyMix = { attribute: 3, relational: 3, reasoning: 3, multi: 1, empty: 1 };

/**
 * Deterministic stream over the synthetic benchmark: example `k` of the stream is a fixed
 * sample of the split, its family drawn from `mix` by a fixed cycle (families appear in
 * proportion to their weights, interleaved), so step `s` of a run always sees the same batch —
 * which is what makes training resumable and ablation runs comparable. Every appearance of a
 * family takes that family's next sample: a family of weight `w` reads `w` distinct samples
 * per cycle (never one sample `w` times). `options` (e.g. the image size) go to the generator.
 */
export function refsegExamples(
  split: 'train' | 'val' | 'test',
  mix: FamilyMix,
  start: number,
  count: number,
  options: SynthOptions = {},
): ReferringExample[] {
  const weights = Object.entries(mix) as [Family, number][];
  for (const [family, weight] of weights) {
    if (!Number.isInteger(weight) || weight < 0) throw new ValueError(`mix.${family}: expected a non-negative integer weight`, 'mix');
  }
  // Round-robin over the families until each has its weight: a, b, c, a, b, a … rather than
  // a, a, a, b, b, c, so that a batch of consecutive examples mixes families.
  const cycleLength = weights.reduce((n, [, w]) => n + w, 0);
  const cycle: { family: Family; occurrence: number }[] = [];
  for (let round = 0; cycle.length < cycleLength; round++) {
    for (const [family, weight] of weights) if (round < weight) cycle.push({ family, occurrence: round });
  }
  if (cycle.length === 0) throw new ValueError('mix: expected at least one family with a positive weight', 'mix');
  const limit = split === 'train' ? 20000 : split === 'val' ? 500 : 1000;
  return Array.from({ length: count }, (_, i) => {
    const k = start + i;
    const { family, occurrence } = cycle[k % cycle.length]!;
    const index = (Math.floor(k / cycle.length) * mix[family]! + occurrence) % limit;
    return fromRefSegSample(generateSample(split, family, index, options));
  });
}
