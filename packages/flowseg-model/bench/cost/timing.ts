import * as tf from '@tensorflow/tfjs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full V8 garbage collection, run before every timed call so that neither the collector's
 * pauses nor its helper threads (which add to process CPU time) land inside a measurement.
 * `--expose-gc` is switched on at run time, so `tsx bench.ts` needs no flag.
 */
const collectGarbage: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
})();

/** One thing to time: `run` does the work and returns what it produced (disposed by the timer). */
export interface TimedCase {
  /** Key in the results. */
  readonly key: string;
  /** The work. Its outputs are disposed after each call. */
  readonly run: () => unknown;
}

/** Times in ms of every case, per round. */
export type Samples = Record<string, number[]>;

/** Wall-clock and process CPU times of the same calls. */
export interface Timings {
  /** Elapsed time per call. */
  readonly wall: Samples;
  /**
   * Process CPU time (user + system, all threads) per call. With one compute thread this is
   * the call's time on a free core, whatever else the machine runs; with several threads it
   * sums their work.
   */
  readonly cpu: Samples;
}

/** Every tensor inside a container (arrays and plain objects walked; typed arrays skipped). */
export function tensorsOf(value: unknown, acc: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) acc.push(value);
  else if (Array.isArray(value)) value.forEach((v) => tensorsOf(v, acc));
  else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    Object.values(value).forEach((v) => tensorsOf(v, acc));
  }
  return acc;
}

/**
 * Wait until the work behind `out` is finished. wasm and cpu run every kernel synchronously
 * inside the call, so nothing is read there: reading a large output back would time a JS
 * allocation (page faults on this VM cost ~25 ms per 6 MB), not the component. Other
 * backends get one element of one output read back.
 */
async function settle(out: unknown, synchronous: boolean): Promise<void> {
  if (synchronous) return;
  const first = tensorsOf(out).find((t) => t.size > 0);
  if (!first) return;
  const probe = tf.tidy(() => tf.slice(tf.reshape(first, [-1]), [0], [1]));
  await probe.data();
  probe.dispose();
}

/** Whether the active backend computes inside the op call (no need to wait for results). */
export function backendIsSynchronous(): boolean {
  return tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
}

/** One call of `c`: wall and process CPU ms, outputs disposed. */
export async function timeOnce(c: TimedCase, synchronous = backendIsSynchronous()): Promise<{ wall: number; cpu: number }> {
  collectGarbage();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = c.run();
  await settle(out, synchronous);
  const wall = performance.now() - t0;
  const used = process.cpuUsage(c0);
  tf.dispose(tensorsOf(out));
  return { wall, cpu: (used.user + used.system) / 1000 };
}

/**
 * Time `cases` in interleaved rounds: every round runs each case once, in forward order on
 * even rounds and reverse order on odd ones (ABBA), so slow drift in the machine's load
 * hits all cases alike and ratios between cases of one call are fair. `warmup` rounds
 * first (not recorded).
 */
export async function interleave(cases: readonly TimedCase[], rounds: number, warmup = 1): Promise<Timings> {
  const empty = (): Samples => Object.fromEntries(cases.map((c) => [c.key, [] as number[]]));
  const timings = { wall: empty(), cpu: empty() };
  const synchronous = backendIsSynchronous();
  for (let r = -warmup; r < rounds; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const t = await timeOnce(c, synchronous);
      if (r < 0) continue;
      timings.wall[c.key]!.push(t.wall);
      timings.cpu[c.key]!.push(t.cpu);
    }
  }
  return timings;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Median over rounds of `a[i] / b[i]`: the ratio of two interleaved cases, robust to load
 * changes between rounds.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

/** Which time the rates and ratios are computed from. */
export type Clock = 'wall' | 'cpu';

let rateClock: Clock = 'wall';

/**
 * Choose the clock of every rate and ratio: `'cpu'` when one thread does all the work (wasm
 * with one thread, cpu), since process CPU time then excludes the time other processes took
 * from us; `'wall'` otherwise (several threads: CPU time would add them up).
 */
export function setRateClock(clock: Clock): void {
  rateClock = clock;
}

/** The clock chosen by {@link setRateClock}. */
export function currentRateClock(): Clock {
  return rateClock;
}

/** The samples rates and ratios are computed from. */
export function rateSamples(t: Timings): Samples {
  return t[rateClock];
}
