import type { FlowSegConfig, WordTokenizer } from '../../src/index.js';
import { buildPresetBench, type ComponentCase } from './components.js';
import { profileCall, type KernelProfile } from './kernelProfile.js';
import { REFERENCE_MATMUL, matmulCase } from './referenceRates.js';
import { ms, pct, printTable, round, type Cell } from './report.js';
import { currentRateClock, interleave, median, pairedRatio, rateSamples, timeOnce, type Samples } from './timing.js';

/** One component's figures (the JSON line's `components` entries). */
export interface ComponentFigures {
  readonly label: string;
  /** Median wall time of one call. */
  readonly ms: number;
  /** Median process CPU time of one call. */
  readonly cpuMs: number;
  /** Fastest call (rate clock). */
  readonly minMs: number;
  /** Analytic FLOPs. */
  readonly flops: number;
  /** FLOPs of the matmul/conv kernels that ran (tf.profile), for checking `flops`. */
  readonly countedFlops: number;
  /** `flops` over the median time of the rate clock (`rateClock` in the JSON). */
  readonly gflops: number;
  /** `gflops` over the reference matmul's rate measured in the same rounds. */
  readonly ofMatmul: number;
  readonly params: number;
  /** Kernels per call. */
  readonly kernels: number;
  /** Peak tensor bytes during one call above what existed before it. */
  readonly peakBytes: number;
  /** Tensors left behind per call (must be 0). */
  readonly leakedTensors: number;
  /** Largest kernel-time shares (profiler timings). */
  readonly topKernels: string;
}

/** BSF + BAR overhead over the baseline, at one preset (the paper's Table 5 figures). */
export interface OverheadFigures {
  /** Rounds that timed the decoders and BAR back to back for these figures (the whole models come from the component rounds). */
  readonly overheadRounds: number;
  /** Parameters: standard decoder, BSF decoder, BAR, whole baseline model, whole model. */
  readonly params: { standardDecoder: number; bsfDecoder: number; bar: number; baselineModel: number; fullModel: number };
  /** Added parameters (BSF decoder + BAR − standard decoder), absolute and relative to the decoder and to the whole model. */
  readonly addedParams: number;
  readonly addedParamsOfDecoder: number;
  readonly addedParamsOfModel: number;
  /** Decoder-level latency overhead `(t_bsf + t_bar) / t_standard − 1` (median of per-round ratios), split in BSF and BAR. */
  readonly latencyOverhead: number;
  readonly bsfLatencyOverhead: number;
  readonly barLatencyOverhead: number;
  /** Decoder-level FLOP overhead `(F_bsf + F_bar) / F_standard − 1`. */
  readonly flopOverhead: number;
  /** `latencyOverhead / flopOverhead` (target ≤ 1.25). */
  readonly overheadRatio: number;
  /** The FLOP overhead the kernels run (attention layouts included: folded SR/CR run fewer than the equations), and `latencyOverhead` over it. */
  readonly executedFlopOverhead: number;
  readonly executedOverheadRatio: number;
  /** Median added ms per sample (rate clock), decoder level and whole model. */
  readonly addedMs: number;
  readonly modelAddedMs: number;
  /** Whole-model latency overhead, `t_full / t_baseline − 1` (median of per-round ratios). */
  readonly modelLatencyOverhead: number;
  /**
   * The same per sample as inference runs it (`refine: 'selected'`: BAR on the selected mask
   * only): decoder-level latency and FLOP overheads, their ratio, and the whole model's.
   */
  readonly selected: {
    readonly latencyOverhead: number;
    readonly barLatencyOverhead: number;
    readonly flopOverhead: number;
    readonly overheadRatio: number;
    readonly executedFlopOverhead: number;
    readonly executedOverheadRatio: number;
    readonly modelAddedMs: number;
    readonly modelLatencyOverhead: number;
  };
}

/** Everything one preset produced. */
export interface PresetFigures {
  readonly matmulGflops: number;
  readonly rounds: number;
  readonly bandFraction: number;
  readonly components: Record<string, ComponentFigures>;
  readonly overhead: OverheadFigures;
}

const topKernels = (p: KernelProfile): string => {
  const total = p.kernelMs.reduce((s, [, t]) => s + t, 0) || 1;
  return p.kernelMs
    .slice(0, 3)
    .map(([name, t]) => `${name} ${Math.round((100 * t) / total)}%`)
    .join(', ');
};

/**
 * Measure one preset: warm each case up, profile `profiledCalls` calls of each (FLOPs that
 * ran, peak memory, leaks, kernel shares), then time all cases, the reference matmul among
 * them, in interleaved rounds. Prints the component table and the overhead table.
 */
export async function runPreset(
  preset: string,
  config: FlowSegConfig,
  tokenizer: WordTokenizer,
  counts: { rounds: number; overheadRounds: number; profiledCalls: number },
): Promise<PresetFigures> {
  const { rounds, overheadRounds, profiledCalls } = counts;
  const bench = buildPresetBench(preset, config, tokenizer);
  const reference = matmulCase(REFERENCE_MATMUL);
  try {
    const cases: Array<ComponentCase | typeof reference> = [reference, ...bench.cases];
    const profiles = new Map<string, KernelProfile>();
    for (const c of bench.cases) {
      await timeOnce(c);
      profiles.set(c.key, await profileCall(c.run, profiledCalls));
    }
    const timings = await interleave(cases, rounds, 1);
    const samples = rateSamples(timings);
    const refMs = median(samples[reference.key]!);
    const matmulGflops = reference.work / refMs / 1e6;
    const components: Record<string, ComponentFigures> = {};
    const rows: Array<Record<string, Cell>> = [];
    for (const c of bench.cases) {
      const p = profiles.get(c.key)!;
      const t = median(samples[c.key]!);
      const gflops = c.flops / t / 1e6;
      const f: ComponentFigures = {
        label: c.label,
        ms: round(median(timings.wall[c.key]!)),
        cpuMs: round(median(timings.cpu[c.key]!)),
        minMs: round(Math.min(...samples[c.key]!)),
        flops: c.flops,
        countedFlops: p.countedFlops,
        gflops: round(gflops),
        ofMatmul: round(gflops / matmulGflops),
        params: c.params,
        kernels: p.kernels,
        peakBytes: p.peakBytes,
        leakedTensors: p.leakedTensors,
        topKernels: topKernels(p),
      };
      components[c.key.slice(preset.length + 1)] = f;
      // Kernels run the analytic FLOPs adjusted by the attention layouts (block zeros, folded projections).
      const check = c.flops > 0 ? p.countedFlops / (c.flops + c.layoutDeltaFlops) : 1;
      rows.push({
        component: c.label,
        ms: ms(f.ms),
        'cpu ms': ms(f.cpuMs),
        GFLOP: (c.flops / 1e9).toFixed(3),
        'GFLOP/s': gflops.toFixed(1),
        '% matmul': `${(100 * f.ofMatmul).toFixed(0)} %`,
        'counted/analytic': Math.abs(check - 1) < 0.005 ? 'ok' : check.toFixed(3),
        params: c.params,
        'peak MB': (p.peakBytes / 2 ** 20).toFixed(1),
        leaked: p.leakedTensors,
        kernels: p.kernels,
        'largest kernel shares': f.topKernels,
      });
    }
    printTable(
      `components, ${preset} preset (batch 1; medians of ${rounds} interleaved rounds; rates from ${currentRateClock()} time; ` +
        `reference matmul in these rounds ${matmulGflops.toFixed(1)} GFLOP/s)`,
      rows,
    );
    // The decoders and BAR again, on their own: each round times them back to back (order
    // reversed every other round), so the few-per-cent ratios compare like with like.
    const overheadKeys = ['decoder.standard', 'decoder.bsf', 'bar', 'bar.selected'].map((k) => `${preset}.${k}`);
    const pairs = rateSamples(await interleave(bench.cases.filter((c) => overheadKeys.includes(c.key)), overheadRounds, 1));
    const overhead = overheadOf(bench, { ...samples, ...pairs }, preset, overheadRounds);
    printOverhead(preset, overhead);
    return { matmulGflops: round(matmulGflops), rounds, bandFraction: round(bench.bandFraction, 4), components, overhead };
  } finally {
    reference.dispose();
    bench.dispose();
  }
}

/** The overhead figures; decoder and BAR samples from the `overheadRounds` paired rounds, the whole models' from the component rounds. */
function overheadOf(bench: ReturnType<typeof buildPresetBench>, samples: Samples, preset: string, overheadRounds: number): OverheadFigures {
  const key = (k: string) => `${preset}.${k}`;
  const caseOf = (k: string) => bench.cases.find((c) => c.key === key(k))!;
  const std = samples[key('decoder.standard')]!;
  const bsf = samples[key('decoder.bsf')]!;
  const bar = samples[key('bar')]!;
  const barSelected = samples[key('bar.selected')]!;
  const full = samples[key('model.full')]!;
  const fullSelected = samples[key('model.selected')]!;
  const base = samples[key('model.baseline')]!;
  const params = {
    standardDecoder: bench.parts.standard.countParams(),
    bsfDecoder: bench.parts.bsf.countParams(),
    bar: bench.parts.bar.countParams(),
    baselineModel: bench.modelParams.baseline,
    fullModel: bench.modelParams.full,
  };
  const addedParams = params.bsfDecoder + params.bar - params.standardDecoder;
  const latencyOverhead = pairedRatio(bsf.map((t, i) => t + bar[i]!), std) - 1;
  const flopOverhead = (caseOf('decoder.bsf').flops + caseOf('bar').flops) / caseOf('decoder.standard').flops - 1;
  const selectedLatency = pairedRatio(bsf.map((t, i) => t + barSelected[i]!), std) - 1;
  const selectedFlops = (caseOf('decoder.bsf').flops + caseOf('bar.selected').flops) / caseOf('decoder.standard').flops - 1;
  const executed = (k: string) => caseOf(k).flops + caseOf(k).layoutDeltaFlops;
  const executedFlops = (executed('decoder.bsf') + executed('bar')) / executed('decoder.standard') - 1;
  const executedSelected = (executed('decoder.bsf') + executed('bar.selected')) / executed('decoder.standard') - 1;
  return {
    overheadRounds,
    params,
    addedParams,
    addedParamsOfDecoder: round(addedParams / params.standardDecoder, 5),
    addedParamsOfModel: round((params.fullModel - params.baselineModel) / params.baselineModel, 5),
    latencyOverhead: round(latencyOverhead, 4),
    bsfLatencyOverhead: round(pairedRatio(bsf, std) - 1, 4),
    barLatencyOverhead: round(pairedRatio(bar, std), 4),
    flopOverhead: round(flopOverhead, 4),
    overheadRatio: round(latencyOverhead / flopOverhead),
    executedFlopOverhead: round(executedFlops, 4),
    executedOverheadRatio: round(latencyOverhead / executedFlops),
    addedMs: round(median(bsf) + median(bar) - median(std)),
    modelAddedMs: round(median(full) - median(base)),
    modelLatencyOverhead: round(pairedRatio(full, base) - 1, 4),
    selected: {
      latencyOverhead: round(selectedLatency, 4),
      barLatencyOverhead: round(pairedRatio(barSelected, std), 4),
      flopOverhead: round(selectedFlops, 4),
      overheadRatio: round(selectedLatency / selectedFlops),
      executedFlopOverhead: round(executedSelected, 4),
      executedOverheadRatio: round(selectedLatency / executedSelected),
      modelAddedMs: round(median(fullSelected) - median(base)),
      modelLatencyOverhead: round(pairedRatio(fullSelected, base) - 1, 4),
    },
  };
}

function printOverhead(preset: string, o: OverheadFigures): void {
  printTable(
    `BSF + BAR overhead, ${preset} preset (paper: +5.93 M parameters = +0.12 % of the model, +4.28 ms = +1.39 % per sample; ` +
      `decoders and BAR from ${o.overheadRounds} paired rounds, medians of per-round ratios)`,
    [
      { what: 'parameters added (BSF layers + BAR)', value: `${o.addedParams}`, relative: `${pct(o.addedParamsOfDecoder)} of the decoder, ${pct(o.addedParamsOfModel)} of the model` },
      { what: 'FLOPs added, decoder + BAR vs standard decoder', value: '', relative: pct(o.flopOverhead) },
      {
        what: 'latency added, decoder + BAR vs standard decoder',
        value: `${ms(o.addedMs)} ms`,
        relative: `${pct(o.latencyOverhead)} (BSF ${pct(o.bsfLatencyOverhead)}, BAR ${pct(o.barLatencyOverhead)})`,
      },
      { what: 'latency overhead / FLOP overhead (target ≤ 1.25)', value: '', relative: o.overheadRatio.toFixed(2) },
      {
        what: 'FLOPs added as the kernels run them (folded attention)',
        value: '',
        relative: `${pct(o.executedFlopOverhead)}; latency overhead / it ${o.executedOverheadRatio.toFixed(2)}`,
      },
      { what: 'latency added, whole model vs baseline model', value: `${ms(o.modelAddedMs)} ms`, relative: pct(o.modelLatencyOverhead) },
      { what: "per sample as inference runs it (refine: 'selected'):", value: '', relative: '' },
      { what: '  FLOPs added, decoder + BAR on 1 mask', value: '', relative: pct(o.selected.flopOverhead) },
      {
        what: '  latency added, decoder + BAR on 1 mask',
        value: '',
        relative: `${pct(o.selected.latencyOverhead)} (BSF ${pct(o.bsfLatencyOverhead)}, BAR ${pct(o.selected.barLatencyOverhead)})`,
      },
      { what: '  latency overhead / FLOP overhead (target ≤ 1.25)', value: '', relative: o.selected.overheadRatio.toFixed(2) },
      {
        what: '  FLOPs added as the kernels run them',
        value: '',
        relative: `${pct(o.selected.executedFlopOverhead)}; latency overhead / it ${o.selected.executedOverheadRatio.toFixed(2)}`,
      },
      { what: '  latency added, whole model vs baseline model', value: `${ms(o.selected.modelAddedMs)} ms`, relative: pct(o.selected.modelLatencyOverhead) },
    ],
  );
}
