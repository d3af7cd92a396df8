import * as tf from '@tensorflow/tfjs';
import { WeightsError, getLayerWeights, readSafetensors, serializeSafetensors, setLayerWeights } from '@flowseg/core';
import { FlowSegModel } from '../model/FlowSegModel.js';
import { WordTokenizer } from '../tokenizer/WordTokenizer.js';
import { validateFlowSegConfig } from '../config/resolveFlowSegConfig.js';
import type { FlowSegConfig } from '../config/flowSegConfig.js';

/** Checkpoint format written by this version. Loading any other version is refused. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** File names of a checkpoint folder. */
export const CHECKPOINT_FILES = { config: 'config.json', weights: 'model.safetensors' } as const;

/** Contents of a checkpoint's `config.json`. */
export interface CheckpointConfig {
  /** Format tag. */
  readonly format: 'flowseg-checkpoint';
  /** Format version ({@link CHECKPOINT_FORMAT_VERSION}). */
  readonly version: number;
  /** The model configuration. */
  readonly config: FlowSegConfig;
  /** The tokenizer (vocabulary and special tokens). */
  readonly tokenizer: unknown;
  /** Free-form provenance (training command, steps, metrics …). */
  readonly metadata?: Record<string, unknown>;
}

/** A checkpoint as bytes: `config.json` text and `model.safetensors` bytes. */
export interface CheckpointBytes {
  /** `config.json` contents. */
  readonly config: string;
  /** `model.safetensors` contents. */
  readonly weights: Uint8Array;
}

/** Serialize a model's configuration, tokenizer and weights (no file system involved). */
export function serializeCheckpoint(model: FlowSegModel, metadata: Record<string, unknown> = {}): CheckpointBytes {
  const doc: CheckpointConfig = {
    format: 'flowseg-checkpoint',
    version: CHECKPOINT_FORMAT_VERSION,
    config: model.config,
    tokenizer: model.tokenizer.toJSON(),
    metadata,
  };
  const weights = getLayerWeights(model);
  try {
    return {
      config: `${JSON.stringify(doc, null, 2)}\n`,
      weights: serializeSafetensors(weights, { format: 'flowseg', version: String(CHECKPOINT_FORMAT_VERSION) }),
    };
  } finally {
    tf.dispose([...weights.values()]);
  }
}

/**
 * Parse and check `config.json` text.
 * @throws WeightsError for malformed JSON, a wrong format tag or version, or an invalid config.
 */
export function parseCheckpointConfig(text: string, source = 'config.json'): CheckpointConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new WeightsError(`${source}: not valid JSON (${(e as Error).message})`, 'config');
  }
  const d = doc as Partial<CheckpointConfig> | null;
  if (!d || typeof d !== 'object' || d.format !== 'flowseg-checkpoint') {
    throw new WeightsError(`${source}: not a FlowSeg checkpoint (expected "format": "flowseg-checkpoint")`, 'config');
  }
  if (d.version !== CHECKPOINT_FORMAT_VERSION) {
    throw new WeightsError(
      `${source}: checkpoint format version ${JSON.stringify(d.version)} is not supported (this library reads version ${CHECKPOINT_FORMAT_VERSION})`,
      'config',
    );
  }
  try {
    validateFlowSegConfig(d.config as FlowSegConfig);
  } catch (e) {
    throw new WeightsError(`${source}: invalid model config: ${(e as Error).message}`, 'config');
  }
  return d as CheckpointConfig;
}

/**
 * Build a model from checkpoint bytes: config and tokenizer first, then every weight checked
 * by name and shape before any is assigned (nothing is half-loaded).
 * @throws WeightsError naming what is wrong (bad JSON, version, truncated or mismatched weights).
 */
export function modelFromCheckpoint(bytes: CheckpointBytes, source = 'checkpoint'): FlowSegModel {
  const doc = parseCheckpointConfig(bytes.config, `${source}/config.json`);
  let tokenizer: WordTokenizer;
  try {
    tokenizer = WordTokenizer.fromJSON(doc.tokenizer);
  } catch (e) {
    throw new WeightsError(`${source}/config.json: invalid tokenizer: ${(e as Error).message}`, 'config');
  }
  let weights: Map<string, tf.Tensor>;
  try {
    weights = readSafetensors(bytes.weights);
  } catch (e) {
    throw new WeightsError(`${source}/model.safetensors: ${(e as Error).message}`, 'weights');
  }
  const model = new FlowSegModel({ config: doc.config, tokenizer });
  try {
    setLayerWeights(model, weights, { strict: true });
  } catch (e) {
    model.dispose();
    throw new WeightsError(`${source}/model.safetensors does not fit its config: ${(e as Error).message}`, 'weights');
  } finally {
    tf.dispose([...weights.values()]);
  }
  return model;
}

/** The `metadata` of a checkpoint's config. */
export function checkpointMetadata(configText: string): Record<string, unknown> {
  return parseCheckpointConfig(configText).metadata ?? {};
}
