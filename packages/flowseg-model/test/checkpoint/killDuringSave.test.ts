import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@flowseg/core';
import { disposeFlowSegOutputs, type FlowSegModel } from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/index.js';
import { tinyModel, tinyTokenizer } from '../support/tinyFlowSeg.js';

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

const tokenizer = tinyTokenizer();
const ids = [[...tokenizer.encode('segment the red circle', { addBos: true }), ...tokenizer.encode('<p> the red circle </p> <SEG>', { addEos: true })]];

function selected(model: FlowSegModel): number[] {
  const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const out = model.forward({ images, tokenIds: ids });
  const values = Array.from(out.selectedLogits.dataSync());
  disposeFlowSegOutputs(out);
  images.dispose();
  return values;
}

/** Start the save loop and SIGKILL it `delayMs` after its `afterSaves`-th save began. */
async function killDuringSave(dir: string, afterSaves: number, delayMs: number): Promise<void> {
  const script = fileURLToPath(new URL('./support/saveLoopChild.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../../../tsconfig.json', import.meta.url)) },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (new RegExp(`save ${afterSaves}\\b`).test(out)) setTimeout(() => (child.kill('SIGKILL'), resolve()), delayMs);
    });
    child.on('exit', (code) => (code !== null ? reject(new Error(`save loop ended (${code}) before it was killed: ${out}${err}`)) : undefined));
  });
  await new Promise((r) => child.on('close', r));
}

describe('a process killed while saving a checkpoint', () => {
  it('leaves a checkpoint that loads and equals one of the complete saves (old or new), never a mix', async () => {
    const root = await mkdtemp(join(tmpdir(), 'flowseg-killsave-'));
    const dir = join(root, 'ckpt');
    const a = tinyModel({ seed: 7 });
    const b = tinyModel({ seed: 8 });
    const expected = [selected(a), selected(b)];
    await saveCheckpoint(a, dir);
    try {
      // Kill at several points of the save cycle: while writing, around the renames, after.
      for (const [afterSaves, delayMs] of [[1, 0], [2, 15], [3, 40], [2, 90]] as const) {
        await killDuringSave(dir, afterSaves, delayMs);
        const loaded = await loadCheckpoint(dir);
        const got = selected(loaded);
        loaded.dispose();
        expect(expected.some((e) => e.every((v, i) => v === got[i])), `kill after save ${afterSaves} + ${delayMs} ms`).toBe(true);
        // Loading recovered the folder: no .saving / .previous leftovers.
        expect((await readdir(root)).sort()).toEqual(['ckpt']);
      }
    } finally {
      a.dispose();
      b.dispose();
      await rm(root, { recursive: true, force: true });
    }
  }, 240_000);
});
