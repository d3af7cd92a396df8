import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SPLIT_SIZES,
  FAMILIES,
  SEED_NAMESPACE,
  SPLITS,
  SynthValueError,
  dataset,
  generateReferringSample,
  generateSample,
  hashSeed,
  iterateDataset,
  resolveOptions,
  sampleSeed,
  sceneDataset,
  type Family,
  type Split,
} from '../src/index.js';

describe('splits and seeds', () => {
  it('seed sample i of split s and family f with hashSeed(namespace, baseSeed, s, f, i)', () => {
    expect(SEED_NAMESPACE).toBe('flowseg/refseg-synth/v1');
    expect(sampleSeed('val', 'relational', 17)).toBe(hashSeed(SEED_NAMESPACE, 0, 'val', 'relational', 17));
    expect(sampleSeed('val', 'relational', 17, 9)).toBe(hashSeed(SEED_NAMESPACE, 9, 'val', 'relational', 17));
    const s = generateSample('val', 'relational', 17);
    expect(s.seed).toBe(sampleSeed('val', 'relational', 17));
    expect(s.id).toBe('val/relational/17');
    expect(generateReferringSample(s.seed, 'relational').answer).toBe(s.answer);
  });

  it('keep the published benchmark fixed (fingerprints of val sample 0; bump SEED_NAMESPACE when the output changes on purpose)', () => {
    const fingerprints = Object.fromEntries(
      FAMILIES.map((f) => {
        const s = generateSample('val', f, 0);
        const h = createHash('sha256');
        h.update(s.scene.image);
        for (const m of s.scene.masks) h.update(m);
        h.update(`${s.prompt}|${s.answer}|${s.description}`);
        return [f, h.digest('hex').slice(0, 16)];
      }),
    );
    expect(fingerprints).toEqual({
      attribute: 'e24a063c2b55d302',
      relational: '2d37d3cf8258bb8c',
      reasoning: '0617b7aa37118146',
      multi: '98b4b530a5980323',
      empty: 'd27b44098fb6a28e',
    });
  });

  it('are disjoint across splits and families at the documented sizes', () => {
    expect(DEFAULT_SPLIT_SIZES).toEqual({ train: 20000, val: 500, test: 1000 });
    const seen = new Set<number>();
    let total = 0;
    for (const split of SPLITS) {
      for (const family of [...FAMILIES, 'scene'] as Array<Family | 'scene'>) {
        for (let i = 0; i < DEFAULT_SPLIT_SIZES[split]; i++) {
          seen.add(sampleSeed(split, family, i));
          total++;
        }
      }
    }
    expect(seen.size).toBe(total);
  });

  it('make sample i independent of how many samples are requested', () => {
    const few = dataset('test', 'multi', 3);
    const more = [...iterateDataset('test', 'multi', { start: 2, count: 3 })];
    expect(more[0]!.answer).toBe(few[2]!.answer);
    expect(Buffer.compare(Buffer.from(more[0]!.scene.image), Buffer.from(few[2]!.scene.image))).toBe(0);
    expect(more.map((s) => s.index)).toEqual([2, 3, 4]);
  });

  it('give a different benchmark for a different baseSeed', () => {
    const a = generateSample('train', 'attribute', 0);
    const b = generateSample('train', 'attribute', 0, { baseSeed: 1 });
    expect(b.seed).not.toBe(a.seed);
    expect(Buffer.compare(Buffer.from(a.scene.image), Buffer.from(b.scene.image))).not.toBe(0);
  });

  it('iterate the documented split size lazily by default', () => {
    const it = iterateDataset('val', 'empty');
    expect(it.next().value?.id).toBe('val/empty/0');
  });

  it('produce plain scenes with descriptions for pretraining', () => {
    const scenes = sceneDataset('train', 5);
    expect(scenes.map((s) => s.id)).toEqual([0, 1, 2, 3, 4].map((i) => `train/scene/${i}`));
    for (const s of scenes) expect(s.description.split(', ').length).toBeLessThanOrEqual(s.scene.objects.length);
  });
});

describe('options', () => {
  it('honour a custom image size', () => {
    const s = generateSample('val', 'reasoning', 0, { width: 96, height: 48 });
    expect([s.scene.width, s.scene.height]).toEqual([96, 48]);
    expect(s.scene.image.length).toBe(96 * 48 * 3);
    expect(s.scene.masks[0]!.length).toBe(96 * 48);
    const big = generateSample('val', 'relational', 1, { width: 128, height: 128, minObjects: 5, maxObjects: 9 });
    expect(big.scene.objects.length).toBeGreaterThanOrEqual(5);
  });

  it('reject bad values with a SynthValueError naming the option', () => {
    const bad: Array<[object, string]> = [
      [{ width: 8 }, 'width'],
      [{ height: 10.5 }, 'height'],
      [{ minObjects: 2 }, 'minObjects'],
      [{ minObjects: 5, maxObjects: 4 }, 'maxObjects'],
      [{ smallArea: [0.05, 0.01] }, 'smallArea'],
      [{ largeArea: [0.03, 0.1] }, 'largeArea'],
      [{ positionMargin: -1 }, 'positionMargin'],
      [{ minVisibleFraction: 2 }, 'minVisibleFraction'],
    ];
    for (const [o, name] of bad) {
      let err: unknown;
      try {
        resolveOptions(o);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SynthValueError);
      expect((err as SynthValueError).argument).toBe(name);
    }
  });

  it('reject unknown splits, families and bad indices', () => {
    expect(() => generateSample('dev' as Split, 'attribute', 0)).toThrow(SynthValueError);
    expect(() => generateSample('val', 'colour' as Family, 0)).toThrow(/unknown family/);
    expect(() => generateSample('val', 'attribute', -1)).toThrow(/index/);
    expect(() => dataset('val', 'attribute', 1.5)).toThrow(/count/);
    expect(() => generateReferringSample(2 ** 33, 'attribute')).toThrow(/seed/);
  });
});
