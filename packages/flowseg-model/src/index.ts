/**
 * `@flowseg/flowseg-model`: the assembled FlowSeg system — encoders, language model,
 * condition adapter, Mask2Former decoder with BSF layers, BAR and condition–query selection —
 * with its configuration, checkpoints, training stages and evaluation metrics. Node-only
 * parts (checkpoint folders, CLI, training runs) live in `@flowseg/flowseg-model/node`.
 * @packageDocumentation
 * @module @flowseg/flowseg-model
 */
export * from './components.js';
export {
  ABLATIONS,
  SMALL_CONFIG,
  PAPER_CONFIG,
  CONFIG_PRESETS,
  ablationSwitches,
  withAblation,
  ablationOf,
  type AblationName,
  type FlowSegConfig,
  type FlowSegConfigOverrides,
} from './config/flowSegConfig.js';
export { resolveFlowSegConfig, validateFlowSegConfig } from './config/resolveFlowSegConfig.js';
export { FlowSegModel, type FlowSegModelOptions } from './model/FlowSegModel.js';
export { ConditionQuerySelector, type ConditionQuerySelectorConfig, type SelectionInputs } from './model/ConditionQuerySelector.js';
export { LexicalSkip, type LexicalSkipConfig, type LexicalSkipInputs } from './language/LexicalSkip.js';
export { LexicalSelector, type LexicalSelectorConfig, type LexicalSelectorInputs } from './model/LexicalSelector.js';
export { CopyHead, type CopyHeadConfig, type CopyHeadInputs } from './language/CopyHead.js';
export { AttributeHead, validateAttributeClasses, type AttributeHeadConfig } from './model/AttributeHead.js';
export { ObjectTokenEncoder, type ObjectTokenEncoderConfig, type ObjectTokenInputs } from './model/ObjectTokenEncoder.js';
export {
  CandidateRegionEncoder,
  DEFAULT_REGION_CONV_CHANNELS,
  validateCropSize,
  type CandidateRegionEncoderConfig,
  type CandidateRegionInputs,
} from './model/CandidateRegionEncoder.js';
export { candidateCrops } from './model/region/candidateCrops.js';
export { regionBoxes, REGION_BOX_HALF_SIDE_SIGMAS, REGION_BOX_MIN_HALF_PIXELS, type RegionBoxes } from './model/region/regionBoxes.js';
export { extendFlowSegModel, type ExtendedFlowSegModel } from './model/extendFlowSegModel.js';
export type { BarCandidates, FlowSegInputs, FlowSegOutputs, SegmentorOutputs } from './model/flowSegTypes.js';
export {
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_FILES,
  serializeCheckpoint,
  parseCheckpointConfig,
  modelFromCheckpoint,
  checkpointMetadata,
  type CheckpointConfig,
  type CheckpointBytes,
} from './checkpoint/checkpointFormat.js';
export { loadCheckpointFromUrl } from './checkpoint/loadCheckpointFromUrl.js';
export type { ReferringExample } from './data/ReferringExample.js';
export { fromRefSegSample, REFSEG_ATTRIBUTE_CLASSES } from './data/fromRefSegSample.js';
export { imageBatch } from './data/imageBatch.js';
export { sequenceBatch, type SequenceBatch } from './data/sequenceBatch.js';
export { refsegExamples, DEFAULT_FAMILY_MIX, type FamilyMix } from './data/refsegStream.js';
export {
  stageObjective,
  stageParameters,
  TRAINING_STAGES,
  DESCRIBE_PROMPT,
  type TrainingStage,
  type StageObjective,
  type StageObjectiveOptions,
  type StageMetrics,
} from './training/trainingStages.js';
export { trainStep, type StepReport } from './training/trainStep.js';
export { jointLoss, DEFAULT_JOINT_LOSS_WEIGHTS, type JointLoss, type JointLossWeights } from './training/flowSegLosses.js';
export { attributeLoss } from './training/attributeLoss.js';
export { maskTarget, disposeTargets } from './training/maskTargets.js';
export { maskOverlap, sampleIoU, type MaskOverlap } from './evaluation/maskIoU.js';
export {
  segmentationMetrics,
  oracleCIoU,
  failureRescue,
  type SegmentationMetrics,
  type FailureRescue,
} from './evaluation/segmentationMetrics.js';
export { segment, segmentBatch } from './inference/segment.js';
export type {
  SegmentOptions,
  SegmentBatchOptions,
  SegmentRequest,
  SegmentResult,
  SegmentTarget,
  SegmentCandidate,
  LayerPrediction,
  CandidateMasks,
} from './inference/segmentTypes.js';
export { prepareImage, type SegmentImage, type PreparedImage } from './inference/imageInput.js';
export { segmentationPrompt, INSTRUCTION_VERBS } from './inference/segmentationPrompt.js';
export { repairAnswerIds, type RepairedAnswer } from './inference/repairAnswer.js';
export { disposeFlowSegOutputs } from './inference/disposeOutputs.js';
export { unionMask, renderResultOverlay, type ResultOverlayOptions } from './inference/resultMasks.js';
export {
  checkRgbImage,
  checkBinaryMask,
  type RgbImage,
  type RgbaImage,
  type BinaryMask,
  type MaskLogits,
  type RgbColor,
} from './image/imageTypes.js';
export { renderOverlay, maskOutline, OVERLAY_COLORS, type OverlayMask, type OverlayOptions } from './image/renderOverlay.js';
