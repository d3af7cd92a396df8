import { ValueError } from '@flowseg/core';

/**
 * Small deterministic pseudo-random generator (mulberry32) for point sampling: the same seed
 * gives the same sequence on every backend and platform.
 */
export class SeededRandom {
  private state: number;

  /** @param seed - any finite number; its low 32 bits seed the generator. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new ValueError(`seed: expected a finite number, received ${seed}`, 'seed');
    this.state = seed >>> 0;
  }

  /** Next value, uniform in `[0, 1)`. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** `count` values uniform in `[0, 1)`. */
  uniform(count: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.next();
    return out;
  }
}
