import { SynthValueError } from './errors.js';
import { FAMILIES, type Family } from './generator/families.js';
import { generateReferringSample, type ReferringSample } from './generator/generateReferringSample.js';
import { randomAttributes, spec } from './generator/specTools.js';
import { hashSeed, Prng } from './random/Prng.js';
import { resolveOptions, type SynthOptions } from './options.js';
import { buildScene } from './scene/buildScene.js';
import { describeScene } from './scene/describeScene.js';
import type { Scene } from './scene/Scene.js';

/** The fixed splits. */
export const SPLITS = ['train', 'val', 'test'] as const;
/** One of {@link SPLITS}. */
export type Split = (typeof SPLITS)[number];

/** Documented size of each split, per family (a `dataset` call may ask for fewer or more). */
export const DEFAULT_SPLIT_SIZES: Readonly<Record<Split, number>> = { train: 20000, val: 500, test: 1000 };

/** Namespace hashed into every seed; bumped if the generator's output for a seed ever changes. */
export const SEED_NAMESPACE = 'flowseg/refseg-synth/v1';

/**
 * Seed of sample `index` of a split and family (`'scene'` for plain scenes):
 * `hashSeed(SEED_NAMESPACE, baseSeed, split, family, index)`. Samples are independent, so
 * sample i is the same whatever count is requested, and splits are disjoint by seed.
 */
export function sampleSeed(split: Split, family: Family | 'scene', index: number, baseSeed = 0): number {
  checkSplit(split);
  checkCount('index', index);
  return hashSeed(SEED_NAMESPACE, baseSeed, split, family, index);
}

/** A {@link ReferringSample} with its place in the benchmark. */
export interface RefSegSample extends ReferringSample {
  /** `split/family/index`, e.g. `val/relational/17`. */
  readonly id: string;
  /** Split it belongs to. */
  readonly split: Split;
  /** Index within the split and family. */
  readonly index: number;
}

/** Sample `index` of a split and family. */
export function generateSample(split: Split, family: Family, index: number, options: SynthOptions = {}): RefSegSample {
  checkFamily(family);
  const seed = sampleSeed(split, family, index, resolveOptions(options).baseSeed);
  return { ...generateReferringSample(seed, family, options), id: `${split}/${family}/${index}`, split, index };
}

/** Range of indices to iterate. */
export interface DatasetRange {
  /** First index. Default 0. */
  readonly start?: number;
  /** Number of samples. Default {@link DEFAULT_SPLIT_SIZES}[split]. */
  readonly count?: number;
}

/** Lazily yields samples `start … start + count − 1` of a split and family. */
export function* iterateDataset(split: Split, family: Family, range: DatasetRange = {}, options: SynthOptions = {}): Generator<RefSegSample> {
  checkSplit(split);
  checkFamily(family);
  const start = range.start ?? 0;
  const count = range.count ?? DEFAULT_SPLIT_SIZES[split];
  checkCount('start', start);
  checkCount('count', count);
  for (let i = start; i < start + count; i++) yield generateSample(split, family, i, options);
}

/** The first `count` samples (default: the documented split size) of a split and family, as an array. */
export function dataset(split: Split, family: Family, count?: number, options: SynthOptions = {}): RefSegSample[] {
  return [...iterateDataset(split, family, { count }, options)];
}

/** A plain scene and its description, for segmentor pretraining and vision–language alignment. */
export interface SceneSample {
  /** `split/scene/index`. */
  readonly id: string;
  /** Seed the scene was generated from. */
  readonly seed: number;
  /** Image, objects and visible instance masks. */
  readonly scene: Scene;
  /** "a large red circle at the top left, …". */
  readonly description: string;
}

/** A random scene (no expression) from a seed. */
export function generateScene(seed: number, options: SynthOptions = {}): Omit<SceneSample, 'id'> {
  const o = resolveOptions(options);
  const rng = new Prng(seed);
  for (let attempt = 0; attempt < 200; attempt++) {
    const n = rng.int(o.minObjects, o.maxObjects);
    const specs = Array.from({ length: n }, () => spec(rng, randomAttributes(rng), o));
    const built = buildScene(specs, [], rng, o);
    if (built !== null) return { seed, scene: built.scene, description: describeScene(built.scene) };
  }
  throw new Error(`refseg-synth: no scene layout found after 200 attempts (seed ${seed}); options too tight?`);
}

/** The first `count` plain scenes of a split (seeds from `sampleSeed(split, 'scene', i)`). */
export function sceneDataset(split: Split, count: number, options: SynthOptions = {}): SceneSample[] {
  checkCount('count', count);
  const base = resolveOptions(options).baseSeed;
  return Array.from({ length: count }, (_, i) => ({ id: `${split}/scene/${i}`, ...generateScene(sampleSeed(split, 'scene', i, base), options) }));
}

function checkSplit(split: Split): void {
  if (!SPLITS.includes(split)) throw new SynthValueError(`unknown split ${String(split)}; expected one of ${SPLITS.join(', ')}`, 'split');
}

function checkFamily(family: Family): void {
  if (!FAMILIES.includes(family)) throw new SynthValueError(`unknown family ${String(family)}; expected one of ${FAMILIES.join(', ')}`, 'family');
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new SynthValueError(`${name} must be a non-negative integer, got ${v}`, name);
}
