import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getLayerWeights, selectBackend } from '@flowseg/core';
import { refsegExamples } from '../../src/index.js';
import { trainStage, readTrainingState } from '../../src/node/index.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

const data = (start: number, count: number) =>
  refsegExamples('train', { attribute: 1, multi: 1, empty: 1 }, start, count, { width: 32, height: 32 });

function weightsOf(model: ReturnType<typeof tinyModel>): Map<string, Float32Array> {
  const w = getLayerWeights(model);
  const out = new Map([...w].map(([k, t]) => [k, t.dataSync() as Float32Array]));
  tf.dispose([...w.values()]);
  return out;
}

beforeAll(async () => {
  await selectBackend('wasm', { wasmThreads: 1 });
});

describe('trainStage', () => {
  it('each stage lowers its loss, and leaks no tensors between steps', async () => {
    // Descriptions of 7 objects need more positions than the tiny default.
    const model = tinyModel({ languageModel: { maxPositions: 128 } });
    const before = tf.memory().numTensors;
    for (const stage of ['segmentor', 'alignment', 'joint'] as const) {
      const run = await trainStage(model, { stage, steps: 12, batchSize: 3, data, learningRate: 3e-3, progress: null });
      expect(run.step).toBe(12);
      const first = run.history.slice(0, 3).reduce((a, h) => a + h.loss, 0);
      const last = run.history.slice(-3).reduce((a, h) => a + h.loss, 0);
      expect(last, `${stage} loss ${first / 3} → ${last / 3}`).toBeLessThan(first);
      for (const h of run.history) expect(Number.isFinite(h.loss)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  }, 300_000);

  it('an interrupted run resumes from its last checkpoint and ends exactly like an uninterrupted one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-resume-'));
    try {
      const options = { stage: 'joint' as const, steps: 6, batchSize: 2, data, checkpointEvery: 2, progress: null };
      const straight = tinyModel();
      const full = await trainStage(straight, options);
      const interrupted = tinyModel();
      const part = await trainStage(interrupted, { ...options, checkpointDir: dir, stopAfter: 3 });
      expect(part.step).toBe(3);
      expect((await readTrainingState(dir))?.step).toBe(3);
      interrupted.dispose();
      // A fresh process would build a fresh model: resuming restores weights, moments and step.
      const resumed = tinyModel();
      const rest = await trainStage(resumed, { ...options, checkpointDir: dir });
      expect(rest.resumed).toBe(true);
      expect(rest.step).toBe(6);
      expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
      const a = weightsOf(straight);
      const b = weightsOf(resumed);
      for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
      straight.dispose();
      resumed.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('a run killed mid-training loses at most the steps since its last checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-kill-'));
    const script = fileURLToPath(new URL('./support/trainChild.ts', import.meta.url));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../../../tsconfig.json', import.meta.url)) },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // Kill (SIGKILL: no cleanup) once the first checkpoint has been written and training goes on.
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (/step 3\b/.test(out)) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve();
          }
        }, 50);
        child.on('exit', () => (clearInterval(timer), reject(new Error(`child ended before it could be killed: ${out}`))));
      });
      await new Promise((r) => child.on('close', r));
      const state = await readTrainingState(dir);
      expect(state?.step).toBeGreaterThanOrEqual(2);
      expect((await readdir(join(dir, '..'))).filter((f) => f.startsWith(`${dir.split('/').pop()}.saving`))).toEqual([]);
      const model = tinyModel();
      const run = await trainStage(model, { stage: 'joint', steps: 8, batchSize: 2, data, checkpointEvery: 2, checkpointDir: dir, progress: null });
      expect(run.resumed).toBe(true);
      expect(run.step).toBe(8);
      expect(run.history.length).toBe(8);
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
