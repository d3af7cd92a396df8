/**
 * `npm run bench` — what FlowSeg costs on this machine and how far each part is from the
 * machine's limit, in one run (~10 minutes on a 2-core machine):
 *
 *  1. reference rates of the backend: plain 2-D matmul GFLOP/s and memory-copy GB/s;
 *  2. every component at the `paper` preset (N = 200, L = 9, D = 256, 8 heads, 8 conditions)
 *     and at the shipped `small` preset: median latency, analytic FLOPs (checked against the
 *     FLOPs of the kernels that ran), GFLOP/s and its share of the matmul rate measured in the
 *     same interleaved rounds, parameters, peak tensor memory, tensors leaked per call;
 *  3. BSF + BAR overhead (parameters, FLOPs, latency) over the standard decoder and the
 *     baseline model, as the paper reports it;
 *  4. scaling of the decoder in the number of queries N and of the whole model in image size;
 *  5. process memory (peak RSS) and TF.js memory at the end.
 *
 * Output: readable tables, then as the last line one JSON object with every figure.
 *
 *   npm run bench -- [--backend wasm|cpu|webgpu|tensorflow|webgl] [--threads N]
 *                    [--presets paper,small] [--rounds N] [--no-scaling]
 *
 * Timings on a shared machine are noisy: compare the ratios (each section interleaves its
 * cases with the reference matmul), not absolute milliseconds across runs. See docs/performance.md.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend, type BackendSelection } from '@flowseg/core';
import { CONFIG_PRESETS } from '../src/index.js';
import { benchTokenizer } from './cost/fixtures.js';
import { runPreset, type PresetFigures } from './cost/componentsSection.js';
import { measureReferenceRates } from './cost/referenceRates.js';
import { imageScaling, queryScaling } from './cost/scalingSection.js';
import { parseBenchOptions, USAGE, type BenchOptions } from './cost/options.js';
import { printTable, round } from './cost/report.js';
import { currentRateClock, setRateClock } from './cost/timing.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

async function start(options: BenchOptions): Promise<BackendSelection> {
  return selectBackend(options.backend, {
    ...(options.threads === undefined ? {} : { wasmThreads: options.threads }),
    ...(options.backend === 'webgpu' && existsSync(SWIFTSHADER_ICD) ? { vulkanIcd: SWIFTSHADER_ICD } : {}),
  });
}

/** Threads of the running wasm backend. */
function wasmThreads(): number {
  return getThreadsCount();
}

/** Bytes of the wasm module's linear memory (its high-water mark: wasm memory never shrinks), or null. */
function wasmHeapBytes(): number | null {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.byteLength ?? null;
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  const t0 = performance.now();
  const loadStart = loadavg()[0]!;
  const selection = await start(options);
  const threads = options.backend === 'wasm' ? wasmThreads() : null;
  setRateClock(options.backend === 'cpu' || threads === 1 ? 'cpu' : 'wall');
  console.log(
    `FlowSeg cost benchmark — backend ${selection.backend}${selection.device ? ` (${selection.device})` : ''}; ` +
      `${availableParallelism()} cores, load average ${loadStart.toFixed(2)}`,
  );
  console.log(
    'FLOPs: matrix products and convolutions, a multiply–add = 2; % matmul = achieved GFLOP/s over the reference 2-D matmul timed in the same rounds; ' +
      `rates and ratios use ${currentRateClock() === 'cpu' ? 'process CPU time (one compute thread: immune to other load)' : 'wall time'}.`,
  );

  const rounds = options.rounds;
  const reference = await measureReferenceRates(Math.max(5, 2 * rounds));
  printTable(
    'reference rates',
    reference.rates.map((r) => ({ what: r.what, 'median ms': r.ms.toFixed(2), rate: `${r.rate.toFixed(1)} ${r.unit}` })),
  );

  const tokenizer = benchTokenizer();
  const presets: Record<string, PresetFigures> = {};
  for (const preset of options.presets) {
    // The small preset is ~50× cheaper: more rounds for the same confidence.
    const paper = preset === 'paper';
    presets[preset] = await runPreset(preset, CONFIG_PRESETS[preset], tokenizer, {
      rounds: paper ? rounds : 3 * rounds,
      overheadRounds: paper ? options.overheadRounds : 3 * options.overheadRounds,
      profiledCalls: paper ? 2 : 5,
    });
  }

  let scaling: Record<string, unknown> | null = null;
  if (!options.noScaling) {
    const scalingRounds = Math.max(2, Math.round(0.6 * rounds));
    const scalingConfig = CONFIG_PRESETS[options.presets.includes('paper') ? 'paper' : 'small'];
    const label = options.presets.includes('paper') ? 'paper' : 'small';
    scaling = {
      preset: label,
      queries: await queryScaling(scalingConfig, [50, 100, 200, 400], scalingRounds),
      imageSize: await imageScaling(scalingConfig, tokenizer, [64, 128, 256], scalingRounds, label),
    };
  }

  const usage = process.resourceUsage();
  const memory = {
    peakRssBytes: usage.maxRSS * 1024,
    rssBytes: process.memoryUsage().rss,
    wasmHeapBytes: wasmHeapBytes(),
    tfNumTensors: tf.memory().numTensors,
    tfNumBytes: tf.memory().numBytes,
  };
  const mb = (b: number | null) => (b === null ? '-' : `${(b / 2 ** 20).toFixed(0)} MB`);
  printTable('memory at the end of the run', [
    { what: 'peak process RSS', value: mb(memory.peakRssBytes) },
    { what: 'process RSS now', value: mb(memory.rssBytes) },
    { what: 'wasm linear memory (high-water mark)', value: mb(memory.wasmHeapBytes) },
    { what: 'tf.memory(): tensors / bytes still held', value: `${memory.tfNumTensors} / ${mb(memory.tfNumBytes)}` },
  ]);
  const leaks = Object.values(presets).flatMap((p) => Object.entries(p.components).filter(([, c]) => c.leakedTensors !== 0).map(([k]) => k));
  const durationS = (performance.now() - t0) / 1000;
  console.log(
    `\n${leaks.length === 0 ? 'no component leaked tensors' : `LEAKS in: ${leaks.join(', ')}`}; ` +
      `run took ${durationS.toFixed(0)} s; load average ${loadStart.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    JSON.stringify({
      backend: selection.backend,
      device: selection.device ?? null,
      wasmThreads: threads,
      rateClock: currentRateClock(),
      cores: availableParallelism(),
      loadAverage: [round(loadStart, 2), round(loadavg()[0]!, 2)],
      durationS: round(durationS, 1),
      reference: { matmulGflops: round(reference.matmulGflops), copyGBps: round(reference.copyGBps), rates: reference.rates },
      presets,
      scaling,
      memory,
      leakFree: leaks.length === 0,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    // One line, not the wasm module's minified source that an uncaught error would print.
    console.error(`bench failed: ${(e as Error).message}\n${USAGE}`);
    process.exit(1);
  },
);
