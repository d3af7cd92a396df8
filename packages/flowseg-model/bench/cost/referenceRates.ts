import * as tf from '@tensorflow/tfjs';
import { interleave, median, rateSamples, type TimedCase } from './timing.js';

/** A plain 2-D float32 matmul `[m, k] × [k, n]` to time. */
export interface MatmulShape {
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

/**
 * The reference product: `[2048, 256] × [256, 1024]`, the shape class of the decoder's
 * projections and FFN (inner size D = 256, large outer sizes). Every component section
 * times it again in its own rounds, so each "% of matmul" compares figures taken under the
 * same machine load.
 */
export const REFERENCE_MATMUL: MatmulShape = { m: 2048, k: 256, n: 1024 };

/** Other shapes shown in the reference section, for context. */
const CONTEXT_SHAPES: readonly MatmulShape[] = [
  { m: 256, k: 256, n: 256 },
  { m: 512, k: 512, n: 512 },
  { m: 1024, k: 1024, n: 1024 },
];

/** Elements of the copy test's source (two copies are concatenated: 16 MiB out). */
const COPY_ELEMENTS = 2 * 1024 * 1024;

/** A timed case with its work size. */
export interface RateCase extends TimedCase {
  /** FLOPs (matmul) or bytes moved, read + written (copy). */
  readonly work: number;
  /** Free the operands. */
  dispose(): void;
}

/** Key of a matmul case. */
export const matmulKey = (s: MatmulShape): string => `reference.matmul.${s.m}x${s.k}x${s.n}`;

/** A 2-D matmul case with fixed random operands. */
export function matmulCase(shape: MatmulShape): RateCase {
  const a = tf.randomNormal([shape.m, shape.k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([shape.k, shape.n], 0, 1, 'float32', 2) as tf.Tensor2D;
  return {
    key: matmulKey(shape),
    run: () => tf.matMul(a, b),
    work: 2 * shape.m * shape.k * shape.n,
    dispose: () => tf.dispose([a, b]),
  };
}

/** Memory copy: `concat([x, x])` of a 8 MiB float32 vector, bytes read + bytes written. */
export function copyCase(): RateCase {
  const x = tf.randomNormal([COPY_ELEMENTS], 0, 1, 'float32', 3);
  return {
    key: 'reference.copy',
    run: () => tf.concat([x, x]),
    work: 2 * 2 * COPY_ELEMENTS * 4,
    dispose: () => x.dispose(),
  };
}

/** One measured reference rate. */
export interface ReferenceRate {
  /** What was timed. */
  readonly what: string;
  /** Median ms (of the rate clock, see `setRateClock`). */
  readonly ms: number;
  /** GFLOP/s (matmul) or GB/s (copy), from the median. */
  readonly rate: number;
  /** Unit of `rate`. */
  readonly unit: 'GFLOP/s' | 'GB/s';
}

/** Time the reference shapes and the copy, interleaved, `rounds` rounds. */
export async function measureReferenceRates(rounds: number): Promise<{ rates: ReferenceRate[]; matmulGflops: number; copyGBps: number }> {
  const matmuls = [REFERENCE_MATMUL, ...CONTEXT_SHAPES].map((s) => ({ shape: s, c: matmulCase(s) }));
  const copy = copyCase();
  const samples = rateSamples(await interleave([...matmuls.map((m) => m.c), copy], rounds, 2));
  const rates: ReferenceRate[] = matmuls.map(({ shape, c }) => {
    const ms = median(samples[c.key]!);
    return { what: `2-D matmul [${shape.m}, ${shape.k}] × [${shape.k}, ${shape.n}]`, ms, rate: c.work / ms / 1e6, unit: 'GFLOP/s' as const };
  });
  const copyMs = median(samples[copy.key]!);
  rates.push({ what: 'memory copy, concat of 2 × 8 MiB (read + write)', ms: copyMs, rate: copy.work / copyMs / 1e6, unit: 'GB/s' });
  for (const m of matmuls) m.c.dispose();
  copy.dispose();
  return { rates, matmulGflops: rates[0]!.rate, copyGBps: rates[rates.length - 1]!.rate };
}
