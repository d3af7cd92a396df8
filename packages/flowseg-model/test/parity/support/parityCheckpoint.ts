import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';
import {
  CHECKPOINT_FILES,
  FlowSegModel,
  SMALL_CONFIG,
  WordTokenizer,
  modelFromCheckpoint,
  serializeCheckpoint,
  type CheckpointBytes,
  type FlowSegConfig,
} from '@flowseg/flowseg-model';

/** Where the lead ships the trained `small` checkpoint. */
export const SHIPPED_CHECKPOINT_DIR = fileURLToPath(new URL('../../../checkpoints/flowseg-small/', import.meta.url));

/** The tokenizer the training stages use: the benchmark's words plus `describe`, `image`. */
export function smallTokenizer(): WordTokenizer {
  return new WordTokenizer([...VOCABULARY_WORDS, ...['describe', 'image'].filter((w) => !VOCABULARY_WORDS.includes(w))]);
}

/** Checkpoint bytes and whether they are the trained ones. */
export interface ParityCheckpoint {
  /** `config.json` text and `model.safetensors` bytes. */
  readonly bytes: CheckpointBytes;
  /** True for the shipped trained checkpoint, false for random weights. */
  readonly trained: boolean;
}

/** Read a checkpoint folder's two files. */
export async function readCheckpointFolder(dir: string): Promise<CheckpointBytes> {
  return {
    config: await readFile(join(dir, CHECKPOINT_FILES.config), 'utf8'),
    weights: new Uint8Array(await readFile(join(dir, CHECKPOINT_FILES.weights))),
  };
}

/**
 * The checkpoint the parity suite runs: the shipped trained `small` checkpoint when present,
 * otherwise random weights of `config` (default the `small` preset; seeded, so every run builds
 * the same bytes). Builds on the active backend.
 */
export async function parityCheckpoint(config: FlowSegConfig = SMALL_CONFIG): Promise<ParityCheckpoint> {
  if (config === SMALL_CONFIG && existsSync(join(SHIPPED_CHECKPOINT_DIR, CHECKPOINT_FILES.weights))) {
    return { bytes: await readCheckpointFolder(SHIPPED_CHECKPOINT_DIR), trained: true };
  }
  const model = new FlowSegModel({ config, tokenizer: smallTokenizer() });
  try {
    return { bytes: serializeCheckpoint(model, { weights: 'random' }), trained: false };
  } finally {
    model.dispose();
  }
}

/**
 * Load checkpoint bytes on the active backend. On webgpu BAR evaluates densely by itself (no
 * synchronous reads there); cpu and wasm keep the band evaluation, so the parity checks
 * compare the two as well.
 */
export function loadParityModel(bytes: CheckpointBytes): FlowSegModel {
  return modelFromCheckpoint(bytes, 'parity');
}
