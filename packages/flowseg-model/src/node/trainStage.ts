import * as tf from '@tensorflow/tfjs';
import { AdamW, WeightsError, deriveSeed, readSafetensors, serializeSafetensors, setLayerWeights, warmupCosineSchedule } from '@flowseg/core';
import { recoverDirectory } from '@flowseg/core/node';
import { SetCriterion, type SetCriterionConfig } from '@flowseg/mask2former-decoder';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import type { ReferringExample } from '../data/ReferringExample.js';
import { stageObjective, stageParameters, type TrainingStage } from '../training/trainingStages.js';
import { trainStep } from '../training/trainStep.js';
import type { JointLossWeights } from '../training/flowSegLosses.js';
import { saveCheckpoint, readCheckpointFile } from './checkpointFiles.js';
import { ProgressLine } from './ProgressLine.js';

/** Options of {@link trainStage}. */
export interface TrainStageOptions {
  /** Which of the paper's stages. */
  readonly stage: TrainingStage;
  /** Optimizer steps. */
  readonly steps: number;
  /** Examples per step. */
  readonly batchSize: number;
  /** Examples `[start, start + count)` of a deterministic stream (so step `s` always sees the same batch). */
  readonly data: (start: number, count: number) => ReferringExample[];
  /** Peak learning rate (default 1e-3; the paper's 4e-5 is for fine-tuning pretrained giants). */
  readonly learningRate?: number;
  /** Linear warm-up steps (default 5 % of `steps`). */
  readonly warmupSteps?: number;
  /** AdamW decoupled weight decay (the paper: 0.05, the default). */
  readonly weightDecay?: number;
  /** Global gradient-norm clip (default 1). */
  readonly clipNorm?: number;
  /** Criterion settings (default: class-agnostic, 1024 points per mask). */
  readonly criterion?: SetCriterionConfig;
  /** Joint-loss weights (stage 3). */
  readonly lossWeights?: JointLossWeights;
  /** Joint stage: attribute supervision of the targets' queries and conditions (see `stageObjective`). */
  readonly jointAttributes?: boolean;
  /** Joint stage: only the answers' next-token loss (see `stageObjective`'s `answersOnly`). */
  readonly answersOnly?: boolean;
  /**
   * Train only the stage's parameters whose names start with one of these prefixes (e.g.
   * `['language_model.copy_head.']`); the rest stay as they are. Default: all of the stage's.
   */
  readonly trainOnly?: readonly string[];
  /** Checkpoint folder: resumed from when it holds this stage's state, written every `checkpointEvery` steps and at the end. */
  readonly checkpointDir?: string;
  /** Steps between checkpoints (default 50). */
  readonly checkpointEvery?: number;
  /** Progress output (default: a progress line on stderr). `null` silences it. */
  readonly progress?: ProgressLine | null;
  /** Stop after this many steps of this call (for tests of interruption); the run stays resumable. */
  readonly stopAfter?: number;
}

/** One logged step. */
export interface StepLog {
  /** Step index (0-based). */
  readonly step: number;
  /** Total loss. */
  readonly loss: number;
  /** Loss parts. */
  readonly metrics: Record<string, number>;
  /** Learning rate used. */
  readonly learningRate: number;
}

/** Saved next to the weights: where a stage stands. */
export interface TrainingState {
  /** Format tag. */
  readonly format: 'flowseg-training-state';
  /** Stage. */
  readonly stage: TrainingStage;
  /** Steps completed. */
  readonly step: number;
  /** Steps planned. */
  readonly steps: number;
  /** Loss history (every step). */
  readonly history: readonly StepLog[];
  /** Wall-clock seconds spent, summed over runs. */
  readonly seconds: number;
}

/** Result of {@link trainStage}. */
export interface TrainStageResult {
  /** Steps completed (equals `steps` when the stage finished). */
  readonly step: number;
  /** Loss history. */
  readonly history: readonly StepLog[];
  /** Wall-clock seconds spent, over all resumed runs. */
  readonly seconds: number;
  /** Whether this call resumed from a checkpoint. */
  readonly resumed: boolean;
}

const STATE_FILE = 'training-state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';

/** Read a stage's saved state from a checkpoint folder, or null when it holds none. */
export async function readTrainingState(dir: string): Promise<TrainingState | null> {
  await recoverDirectory(dir);
  let text: string;
  try {
    text = new TextDecoder().decode(await readCheckpointFile(dir, STATE_FILE));
  } catch {
    return null;
  }
  const state = JSON.parse(text) as TrainingState;
  if (state.format !== 'flowseg-training-state') throw new WeightsError(`${dir}/${STATE_FILE}: not a training state`, 'checkpointDir');
  return state;
}

/**
 * Run (or resume) one training stage with AdamW, warm-up + cosine schedule and gradient
 * clipping. With `checkpointDir`, the model weights, optimizer moments and step are saved
 * atomically every `checkpointEvery` steps and at the end; a later call with the same folder
 * resumes where the last checkpoint left off (losing at most the steps since), and because
 * the data stream is indexed by step, the resumed run sees exactly the batches it would have.
 */
export async function trainStage(model: FlowSegModel, options: TrainStageOptions): Promise<TrainStageResult> {
  const { stage, steps, batchSize } = options;
  const params = stageParameters(model, stage, options.trainOnly);
  const optimizer = new AdamW({ learningRate: options.learningRate ?? 1e-3, weightDecay: options.weightDecay ?? 0.05 });
  // One criterion per step, seeded by the step: point sampling then depends only on the step,
  // so a resumed run samples exactly what an uninterrupted one would.
  const criterionAt = (s: number) =>
    new SetCriterion({ numClasses: 1, numPoints: 1024, ...options.criterion, seed: deriveSeed(options.criterion?.seed ?? 0, s) });
  const warmupSteps = options.warmupSteps ?? Math.max(1, Math.round(steps * 0.05));
  const every = options.checkpointEvery ?? 50;
  const progress = options.progress === undefined ? new ProgressLine(`${stage}`) : options.progress;
  let history: StepLog[] = [];
  let step = 0;
  let seconds = 0;
  let resumed = false;
  const dir = options.checkpointDir;
  if (dir) {
    const state = await readTrainingState(dir);
    if (state && state.stage === stage) {
      const weights = readSafetensors(await readCheckpointFile(dir, 'model.safetensors'));
      const moments = readSafetensors(await readCheckpointFile(dir, OPTIMIZER_FILE));
      try {
        setLayerWeights(model, weights);
        optimizer.loadState(moments);
      } finally {
        tf.dispose([...weights.values(), ...moments.values()]);
      }
      step = state.step;
      history = [...state.history];
      seconds = state.seconds;
      resumed = true;
    }
  }
  const save = async () => {
    if (!dir) return;
    const state: TrainingState = { format: 'flowseg-training-state', stage, step, steps, history, seconds };
    const moments = optimizer.state();
    try {
      await saveCheckpoint(model, dir, {
        metadata: { stage, step, steps },
        extraFiles: new Map<string, Uint8Array | string>([
          [STATE_FILE, JSON.stringify(state)],
          [OPTIMIZER_FILE, serializeSafetensors(moments)],
        ]),
      });
    } finally {
      tf.dispose([...moments.values()]);
    }
  };
  const limit = options.stopAfter === undefined ? steps : Math.min(steps, step + options.stopAfter);
  progress?.start(step, steps);
  let since = performance.now();
  while (step < limit) {
    const learningRate = warmupCosineSchedule(step, {
      peak: optimizer.learningRate,
      warmupSteps,
      totalSteps: steps,
      floor: optimizer.learningRate * 0.05,
    });
    const objective = stageObjective(model, stage, options.data(step * batchSize, batchSize), criterionAt(step), options.lossWeights, {
      jointAttributes: options.jointAttributes ?? false,
      answersOnly: options.answersOnly ?? false,
    });
    let report;
    try {
      report = trainStep(objective, params, optimizer, learningRate, options.clipNorm ?? 1);
    } finally {
      objective.dispose();
    }
    history.push({ step, loss: report.loss, metrics: report.metrics, learningRate });
    step += 1;
    const now = performance.now();
    seconds += (now - since) / 1000;
    since = now;
    progress?.update(step, report.loss, report.metrics, batchSize);
    if (dir && (step % every === 0 || step === limit)) await save();
  }
  progress?.finish(step);
  optimizer.disposeState();
  return { step, history, seconds, resumed };
}
