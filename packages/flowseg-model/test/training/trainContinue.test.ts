import { describe, it, expect } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScript } from '../support/runScript.js';

const train = (args: string[]) => runScript('train.ts', ['--threads', '1', ...args]);

interface Metadata {
  command: string;
  previousCommand?: string | null;
  plan: { jointSteps: number; batchSize: number; continuedJointSteps?: number };
  trainingMinutes: Record<string, number>;
  testMetrics: Record<string, { cIoU: number; gIoU: number }>;
}

const metadataOf = async (dir: string) => (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { metadata: Metadata }).metadata;

describe('npm run train -- --continue', () => {
  it('continues the joint stage of a finished checkpoint on new examples, evaluates it and records the chain', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-train-continue-'));
    try {
      const first = join(dir, 'first');
      await train(['--quick', '--out', first, '--run-dir', join(dir, 'run')]);
      const second = join(dir, 'second');
      const log = await train(['--continue', first, '--joint-steps', '2', '--out', second, '--run-dir', join(dir, 'run')]);
      // The quick plan's joint stage read 6 steps × 4 examples; the continuation starts after them.
      expect(log).toMatch(/continuing .*first: 2 joint steps from example 24/);
      expect(log).toMatch(/test attribute: cIoU/);
      const before = await metadataOf(first);
      const after = await metadataOf(second);
      expect(after.command).toBe('npm run train -- --continue <previous checkpoint> --joint-steps 2');
      expect(after.previousCommand).toBe(before.command);
      expect(after.plan.continuedJointSteps).toBe(2);
      expect(Object.keys(after.trainingMinutes)).toEqual([...Object.keys(before.trainingMinutes), 'jointContinued']);
      expect(Object.keys(after.testMetrics).sort()).toEqual(['attribute', 'empty', 'multi', 'reasoning', 'relational']);
      // The weights moved.
      const weights = async (d: string) => readFile(join(d, 'model.safetensors'));
      expect(Buffer.compare(await weights(first), await weights(second))).not.toBe(0);
      await expect(train(['--continue', first, '--joint-steps', '0', '--out', join(dir, 'bad')])).rejects.toThrow(
        /--joint-steps: expected a positive integer, received 0/,
      );
      await expect(train(['--continue', first])).rejects.toThrow(/--out: --continue needs an output folder/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
