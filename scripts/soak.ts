/**
 * `npm run soak [-- --quick] [--inferences N] [--steps N] [--every N]`: long-run check of the
 * full FlowSeg model (`small` preset). Runs N consecutive `segment()` calls (default 1,000),
 * then N training steps (`trainStep`, joint stage, default 500), sampling
 * `tf.memory().numTensors` and the process RSS every `--every` iterations, prints a summary
 * (one table per phase plus one JSON line) and exits non-zero when either grows:
 *
 * - tensors: after a warm-up (the first sample of each phase, after `--every` iterations), the live tensor count must
 *   return to exactly the warm-up value at every sample — any growth is a leak;
 * - RSS (sampled right after a full garbage collection): the last sample may exceed the warm-up sample by at most
 *   {@link RSS_TOLERANCE_BYTES} (64 MiB). The wasm heap only grows to a high-water mark and
 *   V8 collects lazily, so a small drift is normal; a leak of even one 64×64 float mask per
 *   iteration (16 KiB) would cross it within ~4,000 iterations, and a leaked batch within tens.
 *
 * Uses the checkpoint at packages/flowseg-model/checkpoints/flowseg-small when it exists,
 * otherwise a freshly initialised model (seed 0). Not part of the test suite (minutes of CPU).
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { AdamW, selectBackend } from '@flowseg/core';
import { SetCriterion } from '@flowseg/mask2former-decoder';
import { generateSample, type Family } from '@flowseg/refseg-synth';
import {
  FlowSegModel,
  refsegExamples,
  resolveFlowSegConfig,
  segment,
  stageObjective,
  stageParameters,
  trainStep,
} from '@flowseg/flowseg-model';
import { loadCheckpoint } from '@flowseg/flowseg-model/node';
import { DEFAULT_CHECKPOINT_DIR } from '../packages/flowseg-model/src/cli/defaultCheckpoint.js';
import { syntheticTokenizer } from '../packages/flowseg-model/src/data/syntheticTokenizer.js';

// A full collection before each sample, so RSS shows what is still reachable rather than how
// lazily V8 happened to collect (the usual `--expose-gc`, switched on from inside).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Largest RSS growth (last sample − warm-up sample) accepted per phase. */
export const RSS_TOLERANCE_BYTES = 64 * 1024 * 1024;

const FULL = { inferences: 1000, steps: 500, every: 50 };
const QUICK = { inferences: 40, steps: 20, every: 5 };

interface Sample {
  readonly iteration: number;
  readonly tensors: number;
  readonly rssBytes: number;
  readonly jsHeapBytes: number;
  readonly wasmHeapBytes: number;
  readonly seconds: number;
}

/** Size of the wasm backend's linear memory (it grows to a high-water mark, never shrinks). */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length ?? 0;
}

interface PhaseSummary {
  readonly phase: string;
  readonly iterations: number;
  readonly seconds: number;
  readonly msPerIteration: number;
  readonly tensorsAtWarmup: number;
  readonly tensorsMax: number;
  readonly tensorsLast: number;
  readonly rssWarmupMiB: number;
  readonly rssMaxMiB: number;
  readonly rssLastMiB: number;
  readonly rssGrowthMiB: number;
  readonly jsHeapWarmupMiB: number;
  readonly jsHeapLastMiB: number;
  readonly wasmHeapWarmupMiB: number;
  readonly wasmHeapLastMiB: number;
  readonly problems: readonly string[];
}

function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}: expected a positive integer, received ${process.argv[i + 1]}`);
  return v;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/**
 * Run `count` iterations of `body`, sampling every `every` iterations; the first sample (after
 * `every` iterations) is the warm-up reference: lazily built kernels, the wasm heap's
 * high-water mark and V8's code caches settle during the first iterations.
 */
async function phase(name: string, count: number, every: number, body: (i: number) => Promise<void> | void): Promise<PhaseSummary> {
  const samples: Sample[] = [];
  const started = performance.now();
  const sample = (iteration: number) => {
    collectGarbage();
    samples.push({
      iteration,
      tensors: tf.memory().numTensors,
      rssBytes: process.memoryUsage.rss(),
      jsHeapBytes: process.memoryUsage().heapUsed,
      wasmHeapBytes: wasmHeapBytes(),
      seconds: (performance.now() - started) / 1000,
    });
    const s = samples.at(-1)!;
    process.stdout.write(`${name} ${String(iteration).padStart(5)}/${count}  tensors ${s.tensors}  rss ${mib(s.rssBytes)} MiB  js heap ${mib(s.jsHeapBytes)} MiB  wasm heap ${mib(s.wasmHeapBytes)} MiB  ${s.seconds.toFixed(0)} s\n`);
  };
  for (let i = 0; i < count; i++) {
    await body(i);
    if ((i + 1) % every === 0 || i === count - 1) sample(i + 1);
  }
  const seconds = (performance.now() - started) / 1000;
  const warm = samples[0]!;
  const last = samples.at(-1)!;
  const problems: string[] = [];
  const grown = samples.filter((s) => s.tensors !== warm.tensors);
  if (grown.length > 0) {
    problems.push(`${name}: live tensors changed after warm-up (${warm.tensors} → ${grown.map((s) => `${s.tensors} at ${s.iteration}`).join(', ')})`);
  }
  const growth = last.rssBytes - warm.rssBytes;
  if (growth > RSS_TOLERANCE_BYTES) {
    problems.push(`${name}: RSS grew by ${mib(growth)} MiB (tolerance ${mib(RSS_TOLERANCE_BYTES)} MiB)`);
  }
  return {
    phase: name,
    iterations: count,
    seconds: Math.round(seconds * 10) / 10,
    msPerIteration: Math.round((seconds * 1000) / count),
    tensorsAtWarmup: warm.tensors,
    tensorsMax: Math.max(...samples.map((s) => s.tensors)),
    tensorsLast: last.tensors,
    rssWarmupMiB: mib(warm.rssBytes),
    rssMaxMiB: mib(Math.max(...samples.map((s) => s.rssBytes))),
    rssLastMiB: mib(last.rssBytes),
    rssGrowthMiB: mib(growth),
    jsHeapWarmupMiB: mib(warm.jsHeapBytes),
    jsHeapLastMiB: mib(last.jsHeapBytes),
    wasmHeapWarmupMiB: mib(warm.wasmHeapBytes),
    wasmHeapLastMiB: mib(last.wasmHeapBytes),
    problems,
  };
}

async function openModel(): Promise<{ model: FlowSegModel; source: string }> {
  if (existsSync(DEFAULT_CHECKPOINT_DIR)) return { model: await loadCheckpoint(DEFAULT_CHECKPOINT_DIR), source: DEFAULT_CHECKPOINT_DIR };
  const model = new FlowSegModel({ config: resolveFlowSegConfig({ seed: 0 }), tokenizer: syntheticTokenizer() });
  return { model, source: 'fresh small model, seed 0 (no checkpoint at packages/flowseg-model/checkpoints/flowseg-small)' };
}

async function main(): Promise<void> {
  const base = process.argv.includes('--quick') ? QUICK : FULL;
  const inferences = intArg('--inferences', base.inferences);
  const steps = intArg('--steps', base.steps);
  const every = intArg('--every', base.every);
  const backend = await selectBackend('wasm');
  const { model, source } = await openModel();
  process.stdout.write(`soak: backend ${backend.backend}; model: ${source}; ${inferences} inferences, ${steps} training steps, sample every ${every}\n`);

  // Inference: a rotating set of generated scenes and prompts of every family.
  const families: Family[] = ['attribute', 'relational', 'reasoning', 'multi', 'empty'];
  const requests = Array.from({ length: 10 }, (_, i) => {
    const s = generateSample('test', families[i % families.length]!, i);
    return { image: { rgb: s.scene.image, width: s.scene.width, height: s.scene.height }, prompt: s.prompt };
  });
  const inference = await phase('inference', inferences, every, async (i) => {
    const r = requests[i % requests.length]!;
    const result = await segment(model, r.image, r.prompt);
    if (result.targets.some((t) => !Number.isFinite(t.score))) throw new Error(`inference ${i}: non-finite score`);
  });

  // Training: joint stage, batch 2, a fresh criterion per step like trainStage.
  const params = stageParameters(model, 'joint');
  const optimizer = new AdamW({ learningRate: 1e-4, weightDecay: 0.05 });
  let skipped = 0;
  let lastLoss = NaN;
  const training = await phase('training', steps, every, (i) => {
    const criterion = new SetCriterion({ numClasses: 1, numPoints: 1024, seed: i });
    const objective = stageObjective(model, 'joint', refsegExamples('train', { attribute: 1, relational: 1, multi: 1, empty: 1 }, i * 2, 2), criterion);
    try {
      const report = trainStep(objective, params, optimizer, 1e-4, 1);
      if (report.skipped) skipped += 1;
      lastLoss = report.loss;
    } finally {
      objective.dispose();
    }
  });
  optimizer.disposeState();
  model.dispose();

  const phases = [inference, training];
  const problems = phases.flatMap((p) => p.problems);
  if (skipped > 0) problems.push(`training: ${skipped} step(s) skipped on a non-finite loss or gradient`);
  process.stdout.write('\nphase      iterations  ms/iter  tensors (warm → max → last)  RSS MiB (warm → max → last, growth)\n');
  for (const p of phases) {
    process.stdout.write(
      `${p.phase.padEnd(10)} ${String(p.iterations).padStart(10)} ${String(p.msPerIteration).padStart(8)}  ` +
        `${p.tensorsAtWarmup} → ${p.tensorsMax} → ${p.tensorsLast}`.padEnd(29) +
        `${p.rssWarmupMiB} → ${p.rssMaxMiB} → ${p.rssLastMiB} (${p.rssGrowthMiB >= 0 ? '+' : ''}${p.rssGrowthMiB})\n`,
    );
  }
  process.stdout.write(`last training loss ${lastLoss.toFixed(4)}, skipped steps ${skipped}\n`);
  process.stdout.write(`${JSON.stringify({ soak: { backend: backend.backend, source, phases, lastLoss, skipped, rssToleranceMiB: mib(RSS_TOLERANCE_BYTES) } })}\n`);
  if (problems.length > 0) {
    process.stderr.write(`soak FAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write('soak passed: no tensor growth, RSS within tolerance\n');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`soak: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 2;
});
