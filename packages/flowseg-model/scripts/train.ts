/**
 * `npm run train [-- --quick] [--attributes] [--out dir]`: trains the full FlowSeg model (BSF + BAR, `small`
 * preset) through the paper's three stages on the synthetic benchmark and writes the
 * checkpoint that `npm start` and `flowseg` load (default
 * packages/flowseg-model/checkpoints/flowseg-small). Resumable: rerun the same command after an
 * interruption and it continues from the last checkpoint of the current stage (in --run-dir).
 * The checkpoint's metadata records the command, the steps and the test-split metrics.
 * `--attributes` adds stage 1's attribute supervision (shape, colour, size; see AttributeHead
 * and docs/selection.md) — not used for the shipped checkpoint.
 */
import { resolve } from 'node:path';
import { FlowSegModel, resolveFlowSegConfig, withAblation, refsegExamples, REFSEG_ATTRIBUTE_CLASSES } from '@flowseg/flowseg-model';
import { trainStage, saveCheckpoint, formatSeconds } from '@flowseg/flowseg-model/node';
import { syntheticTokenizer } from '../src/data/syntheticTokenizer.js';
import { evaluateModel } from '../src/evaluation/evaluateModel.js';
import { TRAINING_STREAMS, argValue, startWasmBackend } from './scriptSetup.js';

const FULL = { segmentorSteps: 1500, alignmentSteps: 300, jointSteps: 1500, batchSize: 8, evalPerFamily: 200 };
const QUICK = { segmentorSteps: 6, alignmentSteps: 3, jointSteps: 6, batchSize: 4, evalPerFamily: 6 };

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const plan = quick ? QUICK : FULL;
  const out = resolve(argValue('--out') ?? (quick ? 'tmp/train-quick/checkpoint' : 'packages/flowseg-model/checkpoints/flowseg-small'));
  const runDir = resolve(argValue('--run-dir') ?? (quick ? 'tmp/train-quick' : 'tmp/train'));
  const started = performance.now();
  const backend = await startWasmBackend();
  console.log(`backend ${backend}; plan ${JSON.stringify(plan)}`);
  const attributes = process.argv.includes('--attributes');
  const config = resolveFlowSegConfig(attributes ? { attributeClasses: REFSEG_ATTRIBUTE_CLASSES } : {});
  const model = new FlowSegModel({ config: withAblation(config, 'full'), tokenizer: syntheticTokenizer() });
  const b = plan.batchSize;
  const stageSeconds: Record<string, number> = {};
  const record = (stage: string, run: { seconds: number }) => (stageSeconds[stage] = run.seconds);
  record('segmentor', await trainStage(model, {
    stage: 'segmentor',
    steps: plan.segmentorSteps,
    batchSize: b,
    data: TRAINING_STREAMS.segmentor,
    checkpointDir: `${runDir}/segmentor`,
  }));
  record('alignment', await trainStage(model, {
    stage: 'alignment',
    steps: plan.alignmentSteps,
    batchSize: 2 * b,
    learningRate: 2e-3,
    data: TRAINING_STREAMS.alignment,
    checkpointDir: `${runDir}/alignment`,
  }));
  record('joint', await trainStage(model, {
    stage: 'joint',
    steps: plan.jointSteps,
    batchSize: b,
    data: TRAINING_STREAMS.joint,
    checkpointDir: `${runDir}/joint`,
  }));
  const metrics: Record<string, { cIoU: number; gIoU: number }> = {};
  for (const family of ['attribute', 'relational', 'reasoning', 'multi', 'empty'] as const) {
    const r = await evaluateModel(model, refsegExamples('test', { [family]: 1 }, 0, plan.evalPerFamily));
    metrics[family] = { cIoU: r.metrics.cIoU, gIoU: r.metrics.gIoU };
    console.log(`test ${family}: cIoU ${r.metrics.cIoU.toFixed(3)} gIoU ${r.metrics.gIoU.toFixed(3)} (${plan.evalPerFamily} samples, generated answers)`);
  }
  await saveCheckpoint(model, out, {
    metadata: {
      command: `npm run train${quick || attributes ? ' --' : ''}${quick ? ' --quick' : ''}${attributes ? ' --attributes' : ''}`,
      plan,
      backend,
      // Summed over resumed runs (each stage's state keeps its own wall-clock total).
      trainingMinutes: Object.fromEntries(Object.entries(stageSeconds).map(([k, v]) => [k, +(v / 60).toFixed(1)])),
      testMetrics: metrics,
      date: new Date().toISOString(),
    },
  });
  console.log(`wrote ${out} after ${formatSeconds((performance.now() - started) / 1000)}`);
  model.dispose();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`train failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
