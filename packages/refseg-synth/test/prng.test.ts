import { describe, expect, it } from 'vitest';
import { Prng, hashSeed } from '../src/index.js';

// Independent BigInt re-derivations of mulberry32 and of FNV-1a + fmix32.
function mulberry32Reference(seed: number, count: number): number[] {
  const M = 1n << 32n;
  let state = BigInt(seed >>> 0);
  const imul = (a: bigint, b: bigint) => (a * b) % M;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5n) % M;
    let t = state;
    t = imul(t ^ (t >> 15n), t | 1n);
    t = (t ^ ((t + imul(t ^ (t >> 7n), t | 61n)) % M)) % M;
    out.push(Number(t ^ (t >> 14n)));
  }
  return out;
}

function hashReference(parts: Array<string | number>): number {
  const M = 1n << 32n;
  const text = parts.map(String).join('\u001f');
  let h = 0x811c9dc5n;
  for (const ch of text) {
    h ^= BigInt(ch.charCodeAt(0));
    h = (h * 0x01000193n) % M;
  }
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) % M;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) % M;
  h ^= h >> 16n;
  return Number(h);
}

describe('Prng', () => {
  it('matches a BigInt re-derivation of mulberry32', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef, 0xffffffff]) {
      const rng = new Prng(seed);
      const got = Array.from({ length: 20 }, () => rng.nextUint32());
      expect(got).toEqual(mulberry32Reference(seed, 20));
    }
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const c = new Prng(8);
    const sa = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.next())).not.toEqual(sa);
  });

  it('draws uniform floats in [0, 1) and integers over the whole inclusive range', () => {
    const rng = new Prng(3);
    let sum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    const seen = new Set<number>();
    for (let i = 0; i < 20000; i++) {
      const x = rng.next();
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      sum += x;
      seen.add(rng.int(2, 6));
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(sum / 20000).toBeCloseTo(0.5, 1);
    expect([...seen].sort()).toEqual([2, 3, 4, 5, 6]);
  });

  it('shuffles to a permutation and picks by weight', () => {
    const rng = new Prng(5);
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const shuffled = rng.shuffle(items);
    expect([...shuffled].sort()).toEqual(items);
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    let heavy = 0;
    for (let i = 0; i < 4000; i++) if (rng.pickWeighted(['a', 'b'], (x) => (x === 'a' ? 3 : 1)) === 'a') heavy++;
    expect(heavy / 4000).toBeGreaterThan(0.72);
    expect(heavy / 4000).toBeLessThan(0.78);
    expect(() => rng.pick([])).toThrow(RangeError);
  });
});

describe('hashSeed', () => {
  it('matches a BigInt re-derivation of FNV-1a + fmix32', () => {
    for (const parts of [['a'], ['flowseg/refseg-synth/v1', 0, 'train', 'attribute', 0], ['x', 1, 'y', 123456]]) {
      expect(hashSeed(...parts)).toBe(hashReference(parts));
    }
  });

  it('separates parts and spreads neighbouring indices', () => {
    expect(hashSeed('ab', 'c')).not.toBe(hashSeed('a', 'bc'));
    const seeds = new Set(Array.from({ length: 10000 }, (_, i) => hashSeed('s', i)));
    expect(seeds.size).toBe(10000);
  });
});
