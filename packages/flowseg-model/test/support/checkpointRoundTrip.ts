import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { getLayerWeights, type FlowSegLayer } from '@flowseg/core';
import type { FlowSegModel } from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/index.js';

/** Save `model` as a checkpoint in a temporary folder and load it back (the folder is removed). */
export async function reloadThroughCheckpoint(model: FlowSegModel): Promise<FlowSegModel> {
  const dir = await mkdtemp(join(tmpdir(), 'flowseg-roundtrip-'));
  try {
    await saveCheckpoint(model, dir);
    return await loadCheckpoint(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every weight of `actual` equals `expected`'s of the same name, exactly. */
export function expectSameWeights(actual: FlowSegLayer, expected: FlowSegLayer): void {
  const a = getLayerWeights(actual);
  const b = getLayerWeights(expected);
  try {
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, v] of b) expect(Array.from(a.get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()));
  } finally {
    tf.dispose([...a.values(), ...b.values()]);
  }
}
