/**
 * Small seeded pseudo-random generator (mulberry32: 32-bit state, period 2³²).
 *
 * Every random choice in this package goes through one of these, so the same seed gives
 * byte-identical scenes and text; `Math.random` is never used.
 */
export class Prng {
  private state: number;

  /** @param seed - any 32-bit integer (taken modulo 2³²). */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    // mulberry32 (Tommy Ettinger): Weyl sequence + xorshift-multiply output mix.
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One element of a non-empty list, with probability proportional to `weight(item)`. */
  pickWeighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const total = items.reduce((s, it) => s + weight(it), 0);
    let r = this.next() * total;
    for (const it of items) {
      r -= weight(it);
      if (r < 0) return it;
    }
    return items[items.length - 1]!;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }
}

/**
 * Hashes a list of strings/numbers to a 32-bit seed: FNV-1a over the parts (joined with a
 * separator that cannot occur in them), then murmur3's fmix32 finaliser so nearby inputs
 * (index 7 vs 8) give unrelated seeds.
 */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  const text = parts.map(String).join('\u001f');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
