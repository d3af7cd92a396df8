/**
 * `npm run train [-- --quick] [--attributes] [--joint-steps N] [--region-crops N] [--lexical-skip] [--lexical-selector] [--out dir]`: trains the full FlowSeg model (BSF + BAR, `small`
 * preset) through the paper's three stages on the synthetic benchmark and writes the
 * checkpoint that `npm start` and `flowseg` load (default
 * packages/flowseg-model/checkpoints/flowseg-small). Resumable: rerun the same command after an
 * interruption and it continues from the last checkpoint of the current stage (in --run-dir).
 * The checkpoint's metadata records the command, the steps and the metrics on the validation split
 * (compare runs on these) and on the test split (report these).
 * `--attributes` adds attribute supervision (shape, colour, size; see AttributeHead and
 * docs/selection.md): of every matched query in stage 1, and of each target's query and
 * condition in the joint stage. `--joint-steps N` sets the joint stage's length (default 1500).
 *
 * `npm run train -- --continue <checkpoint dir> --out <dir> [--joint-steps N]` continues the joint
 * stage of a finished checkpoint instead: N more joint steps (default 1500) on the next examples
 * of the joint stream (the ones after those the first run's joint stage saw), with their own
 * warm-up and cosine schedule at half the joint stage's peak rate, then the same evaluation.
 * Resumable in `--run-dir`/joint-continued. `--joint-attributes` (for a checkpoint trained with
 * `--attributes`) adds attribute supervision of each target's query and condition to those steps.
 * `--region-crops N` (fresh runs and continuations) gives the model a candidate region encoder
 * with N×N crops (`CandidateRegionEncoder`), `--lexical-skip` a lexical skip into the condition
 * adapter (`LexicalSkip`; docs/selection.md has both); a continuation adds them, fresh, to the
 * loaded checkpoint. `--lm-layers N` (continuations) grows the language model to N blocks, the
 * new ones appended as the identity (zero output projections) for an answers phase to train.
 * `--lm-weight W` (continuations) weighs the next-token loss by W in the joint objective instead
 * of 1 (segmentation 1, selection 2), for a language model whose answers are the weak link.
 *
 * Continuations can also train single parts before (or instead of, with `--joint-steps 0`) the
 * joint steps, each resumable in its own `--run-dir` folder, in this order:
 * - `--copy-head N` adds a copy head with N-wide attention to the language model (`CopyHead`);
 *   `--copy-steps S` trains it alone: S steps of the answers' next-token loss, every other
 *   weight frozen (copy-head/);
 * - `--attribute-steps S` re-fits the attribute head alone on condition-free decoder passes (the
 *   segmentor stage's attribute loss), the read-out that object tokens (`--object-tokens`) carry
 *   (attributes/);
 * - `--answer-steps S [--answer-mix reasoning=3,attribute=1,…]` trains the language side (language
 *   model, copy head, vision encoder, object tokens) on the answers' next-token loss, families weighted as given
 *   (default: the joint mix) (answers/);
 * - `--refit-steps S [--refit-mix reasoning=2,attribute=1,…]` re-fits the small parts between the
 *   trunks and the pick (after an answers phase moved the language model's states, or to sharpen
 *   selection): the adapter, its lexical skip, any region encoder, the selector and any lexical
 *   selector, alone on the joint objective, families weighted as given (default: the joint mix),
 *   language model, encoders and decoder frozen (refit/);
 * - `--lexical-selector` adds a `LexicalSelector`; `--selector-steps S` trains it alone on the joint
 *   objective (lexical-selector/).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import {
  CHECKPOINT_FILES,
  FlowSegModel,
  resolveFlowSegConfig,
  withAblation,
  refsegExamples,
  REFSEG_ATTRIBUTE_CLASSES,
  validateCropSize,
  extendFlowSegModel,
  DEFAULT_JOINT_LOSS_WEIGHTS,
  DEFAULT_FAMILY_MIX,
  type FamilyMix,
  type FlowSegConfigOverrides,
} from '@flowseg/flowseg-model';
import { ProgressLine, trainStage, saveCheckpoint, loadCheckpoint, readCheckpointFile, formatSeconds } from '@flowseg/flowseg-model/node';
import { syntheticTokenizer } from '../src/data/syntheticTokenizer.js';
import { evaluateFamily } from '../src/evaluation/evaluateFamily.js';
import { TRAINING_STREAMS, argValue, startWasmBackend } from './scriptSetup.js';

const FULL = { segmentorSteps: 1500, alignmentSteps: 300, jointSteps: 1500, batchSize: 8, evalPerFamily: 200 };
/** A plan as recorded in a checkpoint's metadata (continuations add their summed steps). */
type RecordedPlan = typeof FULL & {
  continuedJointSteps?: number;
  copyHeadSteps?: number;
  lexicalSelectorSteps?: number;
  answerSteps?: number;
  refitSteps?: number;
  attributeHeadSteps?: number;
};
const QUICK = { segmentorSteps: 6, alignmentSteps: 3, jointSteps: 6, batchSize: 4, evalPerFamily: 6 };

/** Peak learning rate of a continued joint stage: half the joint stage's default (1e-3). */
const CONTINUE_LEARNING_RATE = 5e-4;
/** Peak learning rate of a fresh part (copy head, lexical selector) trained alone: the joint stage's default. */
const FRESH_PART_LEARNING_RATE = 1e-3;

async function main(): Promise<void> {
  const from = argValue('--continue');
  if (from !== undefined) return continueJoint(resolve(from));
  const quick = process.argv.includes('--quick');
  const jointSteps = argValue('--joint-steps');
  const plan = { ...(quick ? QUICK : FULL), ...(jointSteps === undefined ? {} : { jointSteps: positiveInt(jointSteps, '--joint-steps') }) };
  const out = resolve(argValue('--out') ?? (quick ? 'tmp/train-quick/checkpoint' : 'packages/flowseg-model/checkpoints/flowseg-small'));
  const runDir = resolve(argValue('--run-dir') ?? (quick ? 'tmp/train-quick' : 'tmp/train'));
  const started = performance.now();
  const backend = await startWasmBackend();
  console.log(`backend ${backend}; plan ${JSON.stringify(plan)}`);
  const attributes = process.argv.includes('--attributes');
  const extensions = extensionArgs();
  const config = resolveFlowSegConfig({ ...(attributes ? { attributeClasses: REFSEG_ATTRIBUTE_CLASSES } : {}), ...extensions.overrides });
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
    jointAttributes: attributes,
    stage: 'joint',
    steps: plan.jointSteps,
    batchSize: b,
    data: TRAINING_STREAMS.joint,
    checkpointDir: `${runDir}/joint`,
  }));
  const metrics = await splitMetrics(model, plan.evalPerFamily);
  await saveCheckpoint(model, out, {
    metadata: {
      command: ['npm run train', ...(quick || attributes || jointSteps ? ['--'] : []), ...(quick ? ['--quick'] : []),
        ...(attributes ? ['--attributes'] : []), ...(jointSteps === undefined ? [] : ['--joint-steps', jointSteps]),
        ...extensions.flags].join(' '),
      plan,
      backend,
      // Summed over resumed runs (each stage's state keeps its own wall-clock total).
      trainingMinutes: Object.fromEntries(Object.entries(stageSeconds).map(([k, v]) => [k, +(v / 60).toFixed(1)])),
      ...metrics,
      commit: sourceCommit(),
      date: new Date().toISOString(),
    },
  });
  console.log(`wrote ${out} after ${formatSeconds((performance.now() - started) / 1000)}`);
  model.dispose();
}

/** The repository's commit (short hash, `+dirty` with uncommitted changes), or null outside a git clone. */
function sourceCommit(): string | null {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${hash}+dirty` : hash;
  } catch {
    return null;
  }
}

/** `raw` as a positive integer, or an error naming the option. */
function positiveInt(raw: string, option: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${option}: expected a positive integer, received ${raw}`);
  return value;
}

/**
 * `--answer-mix reasoning=3,attribute=1` (or `--refit-mix`): family weights of a phase (default:
 * the joint mix); a mix for a phase with no steps is an error, not ignored.
 */
function familyMix(raw: string | undefined, option: string, phaseSteps: number, stepsOption: string): FamilyMix {
  if (raw === undefined) return DEFAULT_FAMILY_MIX;
  if (phaseSteps === 0) throw new Error(`${option}: weighs the families of ${stepsOption}, which is 0 or not given`);
  const known = Object.keys(DEFAULT_FAMILY_MIX);
  const mix: Record<string, number> = {};
  for (const part of raw.split(',')) {
    const [family, weight] = part.split('=');
    if (!family || !known.includes(family) || weight === undefined) {
      throw new Error(`${option}: expected family=weight pairs of ${known.join(', ')} separated by commas, received ${raw}`);
    }
    mix[family] = positiveInt(weight, `${option} ${family}`);
  }
  return mix;
}

function nonNegativeInt(raw: string, option: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${option}: expected an integer ≥ 0, received ${raw}`);
  return value;
}

type FamilyMetrics = Record<string, { cIoU: number; gIoU: number }>;

/**
 * cIoU / gIoU per family, `perFamily` samples of each, generated answers, printed: on the
 * validation split (what to compare runs on when choosing between them) and on the test split
 * (the report; choosing on it would flatter the chosen run).
 */
async function splitMetrics(model: FlowSegModel, perFamily: number): Promise<{ valMetrics: FamilyMetrics; testMetrics: FamilyMetrics }> {
  const of = async (split: 'val' | 'test'): Promise<FamilyMetrics> => {
    const metrics: FamilyMetrics = {};
    for (const family of ['attribute', 'relational', 'reasoning', 'multi', 'empty'] as const) {
      const { result: r } = await evaluateFamily(model, split, family, 0, perFamily);
      metrics[family] = { cIoU: r.metrics.cIoU, gIoU: r.metrics.gIoU };
      console.log(`${split} ${family}: cIoU ${r.metrics.cIoU.toFixed(3)} gIoU ${r.metrics.gIoU.toFixed(3)} (${perFamily} samples, generated answers)`);
    }
    return metrics;
  };
  return { valMetrics: await of('val'), testMetrics: await of('test') };
}

/**
 * `--region-crops N` (a candidate region encoder with N×N crops), `--lexical-skip` (a lexical
 * skip into the adapter), `--copy-head N` (a copy head in the language model) and
 * `--lexical-selector` (a lexical selector) and `--object-tokens` (object tokens for the language
 * model): config overrides, and the flags as given, for the record.
 */
function extensionArgs(): { overrides: FlowSegConfigOverrides; flags: string[] } {
  const raw = argValue('--region-crops');
  const size = raw === undefined ? undefined : Number(raw);
  if (size !== undefined) validateCropSize(size, '--region-crops');
  const lexical = process.argv.includes('--lexical-skip');
  const rawCopy = argValue('--copy-head');
  const copyDim = rawCopy === undefined ? undefined : positiveInt(rawCopy, '--copy-head');
  const lexicalSelector = process.argv.includes('--lexical-selector');
  const objectTokens = process.argv.includes('--object-tokens');
  const rawLayers = argValue('--lm-layers');
  const lmLayers = rawLayers === undefined ? undefined : positiveInt(rawLayers, '--lm-layers');
  const languageModel = {
    ...(copyDim === undefined ? {} : { copyHeadDim: copyDim }),
    ...(objectTokens ? { objectTokens: true } : {}),
    ...(lmLayers === undefined ? {} : { numLayers: lmLayers }),
  };
  return {
    overrides: {
      ...(size === undefined && !lexicalSelector
        ? {}
        : { selection: { ...(size === undefined ? {} : { regionCropSize: size }), ...(lexicalSelector ? { lexicalSelector: true } : {}) } }),
      ...(lexical ? { adapter: { lexicalSkip: true } } : {}),
      ...(Object.keys(languageModel).length === 0 ? {} : { languageModel }),
    },
    flags: [
      ...(size === undefined ? [] : ['--region-crops', String(size)]),
      ...(lexical ? ['--lexical-skip'] : []),
      ...(copyDim === undefined ? [] : ['--copy-head', String(copyDim)]),
      ...(lexicalSelector ? ['--lexical-selector'] : []),
      ...(objectTokens ? ['--object-tokens'] : []),
      ...(lmLayers === undefined ? [] : ['--lm-layers', String(lmLayers)]),
    ],
  };
}

/** `--continue <dir>`: more joint steps on a finished checkpoint (see the file comment). */
async function continueJoint(from: string): Promise<void> {
  const started = performance.now();
  const steps = nonNegativeInt(argValue('--joint-steps') ?? '1500', '--joint-steps');
  const copySteps = nonNegativeInt(argValue('--copy-steps') ?? '0', '--copy-steps');
  const selectorSteps = nonNegativeInt(argValue('--selector-steps') ?? '0', '--selector-steps');
  const answerSteps = nonNegativeInt(argValue('--answer-steps') ?? '0', '--answer-steps');
  const answerMix = familyMix(argValue('--answer-mix'), '--answer-mix', answerSteps, '--answer-steps');
  const refitSteps = nonNegativeInt(argValue('--refit-steps') ?? '0', '--refit-steps');
  const refitMix = familyMix(argValue('--refit-mix'), '--refit-mix', refitSteps, '--refit-steps');
  const attributeSteps = nonNegativeInt(argValue('--attribute-steps') ?? '0', '--attribute-steps');
  if (steps + copySteps + selectorSteps + answerSteps + refitSteps + attributeSteps === 0) {
    throw new Error(
      '--joint-steps: 0 joint steps and no --copy-steps, --attribute-steps, --answer-steps, --refit-steps or --selector-steps leave nothing to train',
    );
  }
  const extensions = extensionArgs();
  const rawLmWeight = argValue('--lm-weight');
  const lmWeight = rawLmWeight === undefined ? DEFAULT_JOINT_LOSS_WEIGHTS.lm : Number(rawLmWeight);
  if (!(Number.isFinite(lmWeight) && lmWeight > 0)) throw new Error(`--lm-weight: expected a positive number, received ${rawLmWeight}`);
  // No default: a continuation must not replace the shipped checkpoint by accident.
  const rawOut = argValue('--out');
  if (rawOut === undefined) throw new Error('--out: --continue needs an output folder for the new checkpoint');
  const out = resolve(rawOut);
  const runDir = resolve(argValue('--run-dir') ?? 'tmp/train');
  const backend = await startWasmBackend();
  const config = JSON.parse(new TextDecoder().decode(await readCheckpointFile(from, CHECKPOINT_FILES.config))) as { metadata?: unknown };
  const previous = (config.metadata ?? {}) as {
    command?: string;
    previousCommand?: string | null;
    plan?: RecordedPlan;
    trainingMinutes?: Record<string, number>;
  };
  const plan: RecordedPlan = previous.plan ?? FULL;
  // Skip the examples the earlier joint stages (the first run's and any continuation) used.
  const earlierSteps = plan.jointSteps + (plan.continuedJointSteps ?? 0);
  const offset = earlierSteps * plan.batchSize;
  const phases = [
    ...(copySteps > 0 ? [`${copySteps} copy-head`] : []),
    ...(attributeSteps > 0 ? [`${attributeSteps} attribute-head`] : []),
    ...(answerSteps > 0 ? [`${answerSteps} answer`] : []),
    ...(refitSteps > 0 ? [`${refitSteps} refit`] : []),
    ...(selectorSteps > 0 ? [`${selectorSteps} lexical-selector`] : []),
  ];
  console.log(`backend ${backend}; continuing ${from}: ${steps} joint steps from example ${offset}${phases.length > 0 ? ` after ${phases.join(', ')} steps` : ''}`);
  const loaded = await loadCheckpoint(from);
  // Extensions start at zero: the continuation begins from the checkpoint's outputs.
  const model = extensions.flags.length === 0 ? loaded : extendFlowSegModel(loaded, extensions.overrides).model;
  if (model !== loaded) loaded.dispose();
  if (copySteps > 0 && model.languageModel.copyHeadDim === null) {
    throw new Error('--copy-steps: the model has no copy head (add --copy-head N)');
  }
  if (attributeSteps > 0 && model.attributeHead === null) {
    throw new Error('--attribute-steps: the model has no attribute head (a checkpoint trained with --attributes has one)');
  }
  if (selectorSteps > 0 && model.lexicalSelector === null) {
    throw new Error('--selector-steps: the model has no lexical selector (add --lexical-selector)');
  }
  /** One single-part phase (of the joint stage unless `segmentor`): `steps` steps of `trainOnly`, resumable in `runDir/<folder>`. */
  const part = async (
    steps: number,
    folder: string,
    options: { trainOnly: string[]; learningRate: number; answersOnly?: boolean; mix?: FamilyMix; segmentor?: boolean },
  ): Promise<{ seconds: number }> =>
    steps === 0
      ? { seconds: 0 }
      : trainStage(model, {
          stage: options.segmentor ? 'segmentor' : 'joint',
          answersOnly: options.answersOnly ?? false,
          trainOnly: options.trainOnly,
          steps,
          batchSize: plan.batchSize,
          learningRate: options.learningRate,
          data: (start, count) =>
            options.segmentor ? TRAINING_STREAMS.segmentor(offset + start, count) : refsegExamples('train', options.mix ?? DEFAULT_FAMILY_MIX, offset + start, count),
          checkpointDir: `${runDir}/${folder}`,
          // Lines name the phase ("[answers] step …"), not the stage every phase shares.
          progress: new ProgressLine(folder),
        });
  // The copy head alone, on the answers' next-token loss: no masks, so a step costs a fraction of a joint one.
  const copyRun = await part(copySteps, 'copy-head', { trainOnly: ['language_model.copy_head.'], learningRate: FRESH_PART_LEARNING_RATE, answersOnly: true });
  // The attribute head alone on condition-free passes (the segmentor stage; only its attribute loss reaches the head).
  const attributeRun = await part(attributeSteps, 'attributes', { trainOnly: ['attribute_head.'], learningRate: FRESH_PART_LEARNING_RATE, segmentor: true });
  // The language side (language model with any copy head, vision encoder, any object tokens) on the answers' next-token loss.
  const answerRun = await part(answerSteps, 'answers', {
    trainOnly: ['language_model.', 'vision_encoder.', 'object_tokens.'],
    learningRate: CONTINUE_LEARNING_RATE,
    answersOnly: true,
    mix: answerMix,
  });
  // The small parts between the trunks and the pick (condition path and selection), the rest frozen.
  const refitRun = await part(refitSteps, 'refit', {
    trainOnly: ['adapter.', 'lexical_skip.', 'region_encoder.', 'selector.', 'lexical_selector.'],
    learningRate: CONTINUE_LEARNING_RATE,
    mix: refitMix,
  });
  // The lexical selector alone, on the joint objective (only its selection term reaches it).
  const selectorRun = await part(selectorSteps, 'lexical-selector', { trainOnly: ['lexical_selector.'], learningRate: FRESH_PART_LEARNING_RATE });
  // Needs a checkpoint trained with --attributes (it has the attribute head).
  const jointAttributes = process.argv.includes('--joint-attributes');
  const run = steps === 0 ? { seconds: 0 } : await trainStage(model, {
    jointAttributes,
    lossWeights: { ...DEFAULT_JOINT_LOSS_WEIGHTS, lm: lmWeight },
    stage: 'joint',
    steps,
    batchSize: plan.batchSize,
    learningRate: CONTINUE_LEARNING_RATE,
    data: (start, count) => TRAINING_STREAMS.joint(offset + start, count),
    checkpointDir: `${runDir}/joint-continued`,
  });
  const metrics = await splitMetrics(model, plan.evalPerFamily);
  // A phase's minutes over the whole chain: the earlier checkpoints' plus this run's.
  const summedMinutes = (phase: string, phaseRun: { seconds: number }) => +((previous.trainingMinutes?.[phase] ?? 0) + phaseRun.seconds / 60).toFixed(1);
  await saveCheckpoint(model, out, {
    metadata: {
      command: ['npm run train -- --continue <previous checkpoint> --joint-steps', String(steps), ...(jointAttributes ? ['--joint-attributes'] : []),
        ...(copySteps === 0 ? [] : ['--copy-steps', String(copySteps)]),
        ...(attributeSteps === 0 ? [] : ['--attribute-steps', String(attributeSteps)]),
        ...(answerSteps === 0 ? [] : ['--answer-steps', String(answerSteps), ...(argValue('--answer-mix') === undefined ? [] : ['--answer-mix', argValue('--answer-mix')!])]),
        ...(refitSteps === 0 ? [] : ['--refit-steps', String(refitSteps), ...(argValue('--refit-mix') === undefined ? [] : ['--refit-mix', argValue('--refit-mix')!])]),
        ...(selectorSteps === 0 ? [] : ['--selector-steps', String(selectorSteps)]),
        ...(rawLmWeight === undefined ? [] : ['--lm-weight', String(lmWeight)]), ...extensions.flags].join(' '),
      // Chains add up: steps and minutes over every continuation, commands in order.
      plan: {
        ...plan,
        continuedJointSteps: (plan.continuedJointSteps ?? 0) + steps,
        continuedLearningRate: CONTINUE_LEARNING_RATE,
        ...(copySteps === 0 ? {} : { copyHeadSteps: (plan.copyHeadSteps ?? 0) + copySteps, copyHeadLearningRate: FRESH_PART_LEARNING_RATE }),
        ...(selectorSteps === 0 ? {} : { lexicalSelectorSteps: (plan.lexicalSelectorSteps ?? 0) + selectorSteps }),
        ...(attributeSteps === 0 ? {} : { attributeHeadSteps: (plan.attributeHeadSteps ?? 0) + attributeSteps }),
        ...(answerSteps === 0 ? {} : { answerSteps: (plan.answerSteps ?? 0) + answerSteps }),
        ...(refitSteps === 0 ? {} : { refitSteps: (plan.refitSteps ?? 0) + refitSteps }),
      },
      previousCommand: [previous.previousCommand, previous.command].filter(Boolean).join(' && ') || null,
      backend,
      trainingMinutes: {
        ...(previous.trainingMinutes ?? {}),
        jointContinued: summedMinutes('jointContinued', run),
        ...(copySteps === 0 ? {} : { copyHead: summedMinutes('copyHead', copyRun) }),
        ...(selectorSteps === 0 ? {} : { lexicalSelector: summedMinutes('lexicalSelector', selectorRun) }),
        ...(attributeSteps === 0 ? {} : { attributeHead: summedMinutes('attributeHead', attributeRun) }),
        ...(answerSteps === 0 ? {} : { answers: summedMinutes('answers', answerRun) }),
        ...(refitSteps === 0 ? {} : { refit: summedMinutes('refit', refitRun) }),
      },
      ...metrics,
      commit: sourceCommit(),
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
