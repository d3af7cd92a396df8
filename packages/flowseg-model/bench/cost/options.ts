import { BACKEND_NAMES, type BackendName } from '@flowseg/core';

/** Presets the benchmark knows. */
export const BENCH_PRESETS = ['paper', 'small'] as const;
/** A preset name. */
export type BenchPreset = (typeof BENCH_PRESETS)[number];

/** Parsed command line of `npm run bench`. */
export interface BenchOptions {
  /** Backend to measure (default wasm). */
  readonly backend: BackendName;
  /** wasm threads (default: core's default, one per core). */
  readonly threads: number | undefined;
  /** Presets whose components are measured (default both). */
  readonly presets: readonly BenchPreset[];
  /** Timed rounds of the component measurements at the paper preset; other sections scale from it. */
  readonly rounds: number;
  /**
   * Extra rounds that time only the decoders and BAR, back to back, for the overhead figures
   * (default `3 × rounds`): their ratio is a few per cent, and pairs timed seconds apart in the
   * component rounds drift with the machine's load.
   */
  readonly overheadRounds: number;
  /** Skip the scaling sections. */
  readonly noScaling: boolean;
}

/** Usage line printed with argument errors. */
export const USAGE =
  'usage: npm run bench -- [--backend wasm|cpu|webgpu|tensorflow|webgl] [--threads N] [--presets paper,small] [--rounds N] [--overhead-rounds N] [--no-scaling]';

/** Parse `argv` (without node and the script); throws an Error with a one-line message on bad input. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name}: expected a value`);
    return v;
  };
  const known = new Set(['--backend', '--threads', '--presets', '--rounds', '--overhead-rounds', '--no-scaling']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a}`);
  const backend = (value('--backend') ?? 'wasm') as BackendName;
  if (!BACKEND_NAMES.includes(backend)) throw new Error(`--backend: expected one of ${BACKEND_NAMES.join(', ')}, received ${backend}`);
  const positiveInt = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}: expected a positive integer, received ${raw}`);
    return v;
  };
  const rounds = positiveInt('--rounds', value('--rounds')) ?? 5;
  const presets = (value('--presets') ?? BENCH_PRESETS.join(',')).split(',');
  for (const p of presets) {
    if (!(BENCH_PRESETS as readonly string[]).includes(p)) throw new Error(`--presets: expected ${BENCH_PRESETS.join(' and/or ')}, received ${p}`);
  }
  return {
    backend,
    threads: positiveInt('--threads', value('--threads')),
    presets: presets as BenchPreset[],
    rounds,
    overheadRounds: positiveInt('--overhead-rounds', value('--overhead-rounds')) ?? 3 * rounds,
    noScaling: argv.includes('--no-scaling'),
  };
}
