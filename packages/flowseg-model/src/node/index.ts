/**
 * Node-only parts of `@flowseg/flowseg-model` (`@flowseg/flowseg-model/node`): checkpoint
 * folders on disk, training with checkpoints and resume, PNG input/output.
 * @packageDocumentation
 * @module @flowseg/flowseg-model/node
 */
export { saveCheckpoint, loadCheckpoint, readCheckpointFile } from './checkpointFiles.js';
export {
  trainStage,
  readTrainingState,
  type TrainStageOptions,
  type TrainStageResult,
  type TrainingState,
  type StepLog,
} from './trainStage.js';
export { ProgressLine, formatSeconds } from './ProgressLine.js';
export { readPngFile, writeRgbPngFile, writeMaskPngFile } from './imageFiles.js';
export { decodePng, encodeRgbPng, encodeMaskPng, type DecodePngOptions } from '../image/png.js';
export { runCli, EXIT_CODES, type CliIO } from '../cli/runCli.js';
