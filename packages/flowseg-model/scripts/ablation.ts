/**
 * `npm run ablation [-- --quick]`: the paper's ablation (Table 3) on the synthetic benchmark.
 * Shared stages 1–2 (segmentor pretraining, vision–language alignment) are trained once; then
 * baseline, +SR, +SR+CR and full (+BAR) each start from those weights and get the same stage-3
 * budget, data and seed. Every model is evaluated on the test split of every family with
 * generated answers (cIoU, gIoU), teacher-forced answers (oracle cIoU), and failure rescue
 * against the baseline. Writes docs/results.md (or --out) and a JSON next to it.
 * Resumable: rerunning the same command continues from the last checkpoints in --run-dir.
 *
 * `--latency-only` re-measures the latency column of an existing report (--out's JSON) on fresh
 * models of each configuration, interleaved round by round, and re-renders it: timings taken
 * while training shared the machine with other jobs are noisy; latency does not depend on weights.
 *
 * `--pretrained <dir>` skips stages 1–2 and starts every row from a checkpoint instead (the
 * `full` model after alignment, e.g. `tmp/train/alignment` left by `npm run train`), so the
 * rows share a longer pretraining than this script's own budget affords; the report says so.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { getLayerWeights, setLayerWeights } from '@flowseg/core';
import { writeFileAtomic } from '@flowseg/core/node';
import {
  ABLATIONS,
  FlowSegModel,
  resolveFlowSegConfig,
  withAblation,
  refsegExamples,
  failureRescue,
  type AblationName,
} from '@flowseg/flowseg-model';
import { trainStage, formatSeconds, loadCheckpoint, readTrainingState } from '@flowseg/flowseg-model/node';
import { syntheticTokenizer } from '../src/data/syntheticTokenizer.js';
import { evaluateModel } from '../src/evaluation/evaluateModel.js';
import { measureForwardLatency } from '../src/evaluation/measureLatency.js';
import { renderResults, type AblationRow, type AblationReport } from './renderResults.js';
import { TRAINING_STREAMS, argValue, startWasmBackend } from './scriptSetup.js';

const FAMILIES = ['attribute', 'relational', 'reasoning', 'multi', 'empty'] as const;

interface Plan extends Record<string, number> {
  readonly segmentorSteps: number;
  readonly alignmentSteps: number;
  readonly jointSteps: number;
  readonly batchSize: number;
  readonly evalPerFamily: number;
}

const FULL: Plan = { segmentorSteps: 600, alignmentSteps: 200, jointSteps: 400, batchSize: 8, evalPerFamily: 80 };
const QUICK: Plan = { segmentorSteps: 8, alignmentSteps: 4, jointSteps: 8, batchSize: 4, evalPerFamily: 8 };

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const plan = quick ? QUICK : FULL;
  const out = resolve(argValue('--out') ?? (quick ? 'test-output/ablation-quick/results.md' : 'docs/results.md'));
  const runDir = resolve(argValue('--run-dir') ?? (quick ? 'tmp/ablation-quick' : 'tmp/ablation'));
  const started = performance.now();
  const backend = await startWasmBackend();
  if (process.argv.includes('--latency-only')) {
    await remeasureLatency(out, backend);
    return;
  }
  console.log(`backend ${backend}; plan ${JSON.stringify(plan)}`);
  const tokenizer = syntheticTokenizer();
  const base = resolveFlowSegConfig();

  // Stages 1–2, shared by every row: trained here, or loaded with --pretrained.
  const pretrainedDir = argValue('--pretrained');
  const t1 = performance.now();
  let pre: FlowSegModel;
  let pretraining: AblationReport['pretraining'];
  if (pretrainedDir !== undefined) {
    pre = await loadCheckpoint(resolve(pretrainedDir));
    const state = await readTrainingState(resolve(pretrainedDir));
    const stage = state ? `its ${state.stage} stage ended at step ${state.step}/${state.steps}` : 'no training state next to it';
    pretraining = { source: pretrainedDir, description: `loaded from ${pretrainedDir} (${stage})` };
  } else {
    pre = new FlowSegModel({ config: withAblation(base, 'full'), tokenizer });
    await trainStage(pre, { stage: 'segmentor', steps: plan.segmentorSteps, batchSize: plan.batchSize, data: TRAINING_STREAMS.segmentor, checkpointDir: `${runDir}/pretrain-segmentor` });
    await trainStage(pre, { stage: 'alignment', steps: plan.alignmentSteps, batchSize: plan.batchSize * 2, data: TRAINING_STREAMS.alignment, learningRate: 2e-3, checkpointDir: `${runDir}/pretrain-alignment` });
    pretraining = { source: 'this run', description: `segmentor ${plan.segmentorSteps} steps, alignment ${plan.alignmentSteps} steps` };
  }
  const pretrainSeconds = (performance.now() - t1) / 1000;
  const pretrained = getLayerWeights(pre);
  pre.dispose();

  const evalSets = Object.fromEntries(FAMILIES.map((f) => [f, refsegExamples('test', { [f]: 1 }, 0, plan.evalPerFamily)]));
  const latencyBatch = refsegExamples('test', { attribute: 1 }, 0, 8);
  const rows: AblationRow[] = [];
  const perSample = new Map<AblationName, Record<string, number[]>>();
  for (const name of ABLATIONS) {
    const model = new FlowSegModel({ config: withAblation(base, name), tokenizer });
    const own = new Set(model.namedWeights().keys());
    setLayerWeights(model, new Map([...pretrained].filter(([k]) => own.has(k))), { strict: false });
    const t = performance.now();
    const run = await trainStage(model, { stage: 'joint', steps: plan.jointSteps, batchSize: plan.batchSize, data: TRAINING_STREAMS.joint, checkpointDir: `${runDir}/joint-${name}` });
    const trainSeconds = run.seconds || (performance.now() - t) / 1000;
    const families: AblationRow['families'] = {};
    const ious: Record<string, number[]> = {};
    for (const f of FAMILIES) {
      const generated = await evaluateModel(model, evalSets[f]!, { answers: 'generated' });
      const forced = await evaluateModel(model, evalSets[f]!, { answers: 'teacher-forced' });
      families[f] = {
        cIoU: generated.metrics.cIoU,
        gIoU: generated.metrics.gIoU,
        teacherForcedCIoU: forced.metrics.cIoU,
        oracleCIoU: forced.oracleCIoU ?? 0,
        answerAccuracy: generated.samples.filter((s, i) => s.answer === evalSets[f]![i]!.answer).length / generated.samples.length,
      };
      ious[f] = generated.samples.map((s) => s.iou);
      console.log(`${name} ${f}: cIoU ${families[f]!.cIoU.toFixed(3)} gIoU ${families[f]!.gIoU.toFixed(3)} oracle ${families[f]!.oracleCIoU.toFixed(3)}`);
    }
    perSample.set(name, ious);
    rows.push({
      name,
      params: model.countParams(),
      msPerSample: await measureForwardLatency(model, latencyBatch),
      trainSeconds,
      finalLoss: run.history.slice(-20).reduce((a, h) => a + h.loss, 0) / Math.max(1, Math.min(20, run.history.length)),
      families,
    });
    model.dispose();
  }
  tf.dispose([...pretrained.values()]);
  const baseline = perSample.get('baseline')!;
  const rescue = ABLATIONS.filter((n) => n !== 'baseline').map((n) => {
    const all = (ious: Record<string, number[]>) => FAMILIES.flatMap((f) => ious[f]!);
    return {
      name: n,
      below05: failureRescue(all(baseline), all(perSample.get(n)!), 0.5),
      below02: failureRescue(all(baseline), all(perSample.get(n)!), 0.2),
    };
  });
  const report: AblationReport = {
    quick,
    command: `npm run ablation${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    pretraining,
    backend,
    plan,
    pretrainSeconds,
    totalSeconds: (performance.now() - started) / 1000,
    rows,
    rescue,
    date: new Date().toISOString(),
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, renderResults(report));
  await writeFileAtomic(out.replace(/\.md$/, '.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out} in ${formatSeconds(report.totalSeconds)}`);
}

/** `--latency-only`: new latency column for the report at `out` (see the file comment). */
async function remeasureLatency(out: string, backend: string, rounds = 7): Promise<void> {
  const jsonPath = out.replace(/\.md$/, '.json');
  const report = JSON.parse(await readFile(jsonPath, 'utf8')) as AblationReport;
  const tokenizer = syntheticTokenizer();
  const base = resolveFlowSegConfig();
  const batch = refsegExamples('test', { attribute: 1 }, 0, 8);
  const models = report.rows.map((row) => new FlowSegModel({ config: withAblation(base, row.name), tokenizer }));
  const times = report.rows.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < models.length; i++) times[i]!.push(await measureForwardLatency(models[i]!, batch, 1));
  }
  models.forEach((m) => m.dispose());
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows = report.rows.map((row, i) => ({ ...row, msPerSample: median(times[i]!) }));
  const updated: AblationReport = {
    ...report,
    rows,
    latencyNote:
      `re-measured on ${new Date().toUTCString()} with \`npm run ablation -- --latency-only\` (${backend}; batch of 8, ` +
      `median of ${rounds} rounds, the configurations interleaved within each round), after training.`,
  };
  await writeFileAtomic(out, renderResults(updated));
  await writeFileAtomic(jsonPath, `${JSON.stringify(updated, null, 2)}\n`);
  console.log(`latency re-measured: ${rows.map((r) => `${r.name} ${r.msPerSample.toFixed(1)} ms`).join(', ')}; wrote ${out}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`ablation failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
