import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsError } from '@flowseg/core';
import { recoverDirectory, writeDirectoryAtomic } from '@flowseg/core/node';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import { CHECKPOINT_FILES, modelFromCheckpoint, serializeCheckpoint } from '../checkpoint/checkpointFormat.js';

/**
 * Save a model as a checkpoint folder (`config.json` + `model.safetensors`, plus any
 * `extraFiles`, e.g. optimizer state) atomically: readers see the old folder or the new one,
 * never a mix, even if the process is killed mid-save.
 */
export async function saveCheckpoint(
  model: FlowSegModel,
  dir: string,
  options: { metadata?: Record<string, unknown>; extraFiles?: ReadonlyMap<string, Uint8Array | string> } = {},
): Promise<void> {
  const { config, weights } = serializeCheckpoint(model, options.metadata);
  const files = new Map<string, Uint8Array | string>([
    [CHECKPOINT_FILES.config, config],
    [CHECKPOINT_FILES.weights, weights],
  ]);
  for (const [k, v] of options.extraFiles ?? []) files.set(k, v);
  await writeDirectoryAtomic(dir, files);
}

/** Read a checkpoint file, with a clear error when it is missing. */
export async function readCheckpointFile(dir: string, name: string): Promise<Uint8Array> {
  const path = join(dir, name);
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WeightsError(
      code === 'ENOENT' ? `${path}: missing (a checkpoint folder holds ${CHECKPOINT_FILES.config} and ${CHECKPOINT_FILES.weights})` : `${path}: ${(e as Error).message}`,
      'dir',
    );
  }
}

/**
 * Load a checkpoint folder written by {@link saveCheckpoint}. A save interrupted between its
 * two renames is recovered first (the previous complete version is restored).
 * @throws WeightsError naming the missing or malformed file.
 */
export async function loadCheckpoint(dir: string): Promise<FlowSegModel> {
  await recoverDirectory(dir);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new WeightsError(`${dir}: no checkpoint folder here`, 'dir');
  }
  const [config, weights] = await Promise.all([
    readCheckpointFile(dir, CHECKPOINT_FILES.config),
    readCheckpointFile(dir, CHECKPOINT_FILES.weights),
  ]);
  return modelFromCheckpoint({ config: new TextDecoder().decode(config), weights }, dir);
}
