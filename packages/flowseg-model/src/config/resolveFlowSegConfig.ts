import { ValueError } from '@flowseg/core';
import { ADAPTIVE_THRESHOLDS } from '@flowseg/bar-head';
import { CONDITION_REFINEMENT_SOURCES } from '@flowseg/bsf-layer';
import { CONFIG_PRESETS, type FlowSegConfig, type FlowSegConfigOverrides } from './flowSegConfig.js';
import { validateAttributeClasses } from '../model/AttributeHead.js';
import { validateCropSize } from '../model/CandidateRegionEncoder.js';

const POOLINGS = ['mean', 'last', 'attention'] as const;

function positiveInt(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValueError(`${field}: expected a positive integer, received ${JSON.stringify(value)}`, field);
  }
}

function choice(value: unknown, field: string, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ValueError(`${field}: expected one of ${allowed.join(', ')}, received ${JSON.stringify(value)}`, field);
  }
}

function bool(value: unknown, field: string): void {
  if (typeof value !== 'boolean') throw new ValueError(`${field}: expected a boolean, received ${JSON.stringify(value)}`, field);
}

/**
 * Merge `overrides` into a preset (one level deep) and validate every field.
 * @param overrides - fields to change.
 * @param preset - `'small'` (default), `'paper'`, or a full config to start from.
 * @throws ValueError naming the first invalid field (dotted path, e.g. `decoder.numHeads`).
 */
export function resolveFlowSegConfig(
  overrides: FlowSegConfigOverrides = {},
  preset: keyof typeof CONFIG_PRESETS | FlowSegConfig = 'small',
): FlowSegConfig {
  const base = typeof preset === 'string' ? CONFIG_PRESETS[preset] : preset;
  if (!base) throw new ValueError(`preset: expected 'small' or 'paper', received ${JSON.stringify(preset)}`, 'preset');
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in base)) throw new ValueError(`${key}: not a FlowSeg config field`, key);
    const current = (base as unknown as Record<string, unknown>)[key];
    merged[key] = value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...(current as object), ...value } : value;
  }
  const config = merged as unknown as FlowSegConfig;
  validateFlowSegConfig(config);
  return config;
}

/** Validate a complete config (e.g. read from a checkpoint). @throws ValueError naming the field. */
export function validateFlowSegConfig(c: FlowSegConfig): void {
  for (const section of [
    'image',
    'segmentationEncoder',
    'pixelDecoder',
    'visionEncoder',
    'languageModel',
    'adapter',
    'decoder',
    'bsf',
    'bar',
    'selection',
  ] as const) {
    if (c[section] === null || typeof c[section] !== 'object') {
      throw new ValueError(`${section}: expected an object, received ${JSON.stringify(c[section])}`, section);
    }
  }
  positiveInt(c.image.height, 'image.height');
  positiveInt(c.image.width, 'image.width');
  const stages = c.segmentationEncoder.stageChannels;
  if (!Array.isArray(stages) || stages.length < 4) {
    throw new ValueError('segmentationEncoder.stageChannels: expected at least 4 stages', 'segmentationEncoder.stageChannels');
  }
  stages.forEach((s, i) => positiveInt(s, `segmentationEncoder.stageChannels[${i}]`));
  const blocks = c.segmentationEncoder.blocksPerStage;
  if (!Array.isArray(blocks) || blocks.length !== stages.length) {
    throw new ValueError(
      `segmentationEncoder.blocksPerStage: expected ${stages.length} entries (one per stage)`,
      'segmentationEncoder.blocksPerStage',
    );
  }
  const stride = 2 ** stages.length;
  if (c.image.height % stride !== 0 || c.image.width % stride !== 0) {
    throw new ValueError(
      `image: expected height and width divisible by ${stride} (the coarsest stride), received ${c.image.height}×${c.image.width}`,
      'image',
    );
  }
  positiveInt(c.pixelDecoder.convDim, 'pixelDecoder.convDim');
  positiveInt(c.pixelDecoder.maskDim, 'pixelDecoder.maskDim');
  positiveInt(c.pixelDecoder.groups, 'pixelDecoder.groups');
  for (const k of ['patchSize', 'width', 'depth', 'numHeads', 'mergeSize'] as const) positiveInt(c.visionEncoder[k], `visionEncoder.${k}`);
  for (const k of ['hiddenSize', 'numLayers', 'numHeads', 'ffnSize', 'maxPositions'] as const) {
    positiveInt(c.languageModel[k], `languageModel.${k}`);
  }
  if (c.languageModel.copyHeadDim !== undefined) positiveInt(c.languageModel.copyHeadDim, 'languageModel.copyHeadDim');
  choice(c.adapter.pooling, 'adapter.pooling', POOLINGS);
  positiveInt(c.adapter.projectionHiddenDim, 'adapter.projectionHiddenDim');
  bool(c.adapter.separateProjections, 'adapter.separateProjections');
  if (c.adapter.lexicalSkip !== undefined) bool(c.adapter.lexicalSkip, 'adapter.lexicalSkip');
  for (const k of ['numQueries', 'numLayers', 'hiddenDim', 'numHeads', 'ffnDim'] as const) positiveInt(c.decoder[k], `decoder.${k}`);
  if (c.decoder.hiddenDim !== c.pixelDecoder.convDim) {
    throw new ValueError(
      `decoder.hiddenDim: expected the pixel decoder's width ${c.pixelDecoder.convDim}, received ${c.decoder.hiddenDim}`,
      'decoder.hiddenDim',
    );
  }
  bool(c.bsf.semanticRefinement, 'bsf.semanticRefinement');
  bool(c.bsf.conditionRefinement, 'bsf.conditionRefinement');
  choice(c.bsf.crSource, 'bsf.crSource', CONDITION_REFINEMENT_SOURCES);
  bool(c.bar.enabled, 'bar.enabled');
  if (!(c.bar.epsilon >= 0 && c.bar.epsilon < 1)) {
    throw new ValueError(`bar.epsilon: expected a threshold in [0, 1), received ${c.bar.epsilon}`, 'bar.epsilon');
  }
  positiveInt(c.bar.bandKernel, 'bar.bandKernel');
  positiveInt(c.bar.compChannels, 'bar.compChannels');
  positiveInt(c.bar.hiddenChannels, 'bar.hiddenChannels');
  choice(c.bar.adaptiveThreshold, 'bar.adaptiveThreshold', ADAPTIVE_THRESHOLDS);
  positiveInt(c.selection.projectionDim, 'selection.projectionDim');
  if (!(c.selection.temperature > 0) || !Number.isFinite(c.selection.temperature)) {
    throw new ValueError(`selection.temperature: expected a finite value > 0, received ${c.selection.temperature}`, 'selection.temperature');
  }
  if (c.selection.regionCropSize !== undefined) validateCropSize(c.selection.regionCropSize, 'selection.regionCropSize');
  if (c.selection.lexicalSelector !== undefined) bool(c.selection.lexicalSelector, 'selection.lexicalSelector');
  if (c.attributeClasses !== undefined) validateAttributeClasses(c.attributeClasses, 'attributeClasses');
  if (c.languageModel.objectTokens !== undefined) {
    bool(c.languageModel.objectTokens, 'languageModel.objectTokens');
    if (c.languageModel.objectTokens && (c.attributeClasses ?? []).length === 0) {
      throw new ValueError(
        'languageModel.objectTokens: object tokens carry the attribute head\'s probabilities; set attributeClasses too',
        'languageModel.objectTokens',
      );
    }
  }
  if (!Number.isInteger(c.seed)) throw new ValueError(`seed: expected an integer, received ${c.seed}`, 'seed');
}
