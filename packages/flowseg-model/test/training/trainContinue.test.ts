import { describe, it, expect } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '@flowseg/core';
import { runScript } from '../support/runScript.js';

const train = (args: string[]) => runScript('train.ts', ['--threads', '1', ...args]);

interface Metadata {
  command: string;
  previousCommand?: string | null;
  plan: { jointSteps: number; batchSize: number; continuedJointSteps?: number; refitSteps?: number; answerSteps?: number; attributeHeadSteps?: number };
  trainingMinutes: Record<string, number>;
  valMetrics: Record<string, { cIoU: number; gIoU: number }>;
  testMetrics: Record<string, { cIoU: number; gIoU: number }>;
  commit: string | null;
}

const metadataOf = async (dir: string) => (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { metadata: Metadata }).metadata;

describe('npm run train -- --continue', () => {
  it('continues the joint stage of a finished checkpoint on new examples, evaluates it and records the chain', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-train-continue-'));
    try {
      const first = join(dir, 'first');
      await train(['--quick', '--attributes', '--joint-steps', '5', '--out', first, '--run-dir', join(dir, 'run')]);
      const second = join(dir, 'second');
      const log = await train(['--continue', first, '--joint-steps', '2', '--out', second, '--run-dir', join(dir, 'run')]);
      // The first run's joint stage read 5 steps × 4 examples; the continuation starts after them.
      expect(log).toMatch(/continuing .*first: 2 joint steps from example 20/);
      // Validation metrics (to choose runs on) before the test metrics (the report).
      expect(log).toMatch(/val attribute: cIoU[\s\S]*test attribute: cIoU/);
      const before = await metadataOf(first);
      const after = await metadataOf(second);
      expect(before.command).toBe('npm run train -- --quick --attributes --joint-steps 5');
      expect(before.plan.jointSteps).toBe(5);
      // Which source trained it: a commit hash in a git clone, null in a tree without git.
      if (existsSync(fileURLToPath(new URL('../../../../.git', import.meta.url)))) expect(before.commit).toMatch(/^[0-9a-f]{7,}(\+dirty)?$/);
      else expect(before.commit).toBeNull();
      expect(after.command).toBe('npm run train -- --continue <previous checkpoint> --joint-steps 2');
      expect(after.previousCommand).toBe(before.command);
      expect(after.plan.continuedJointSteps).toBe(2);
      expect(Object.keys(after.trainingMinutes)).toEqual([...Object.keys(before.trainingMinutes), 'jointContinued']);
      expect(Object.keys(after.testMetrics).sort()).toEqual(['attribute', 'empty', 'multi', 'reasoning', 'relational']);
      expect(Object.keys(after.valMetrics).sort()).toEqual(['attribute', 'empty', 'multi', 'reasoning', 'relational']);
      // The weights moved.
      const weights = async (d: string) => readFile(join(d, 'model.safetensors'));
      expect(Buffer.compare(await weights(first), await weights(second))).not.toBe(0);
      // A continuation of a continuation skips both earlier joint stages and adds up the chain;
      // this one also adds a candidate region encoder and a lexical skip to the loaded model, and
      // weighs the next-token loss by 3.
      const third = join(dir, 'third');
      const log3 = await train(['--continue', second, '--joint-steps', '1', '--lm-weight', '3', '--region-crops', '8', '--lexical-skip', '--out', third, '--run-dir', join(dir, 'run3')]);
      expect(log3).toMatch(/continuing .*second: 1 joint steps from example 28/);
      const chained = await metadataOf(third);
      expect(chained.plan.continuedJointSteps).toBe(3);
      expect(chained.command).toBe('npm run train -- --continue <previous checkpoint> --joint-steps 1 --lm-weight 3 --region-crops 8 --lexical-skip');
      const thirdConfig = JSON.parse(await readFile(join(third, 'config.json'), 'utf8')) as {
        config: { selection: { regionCropSize?: number }; adapter: { lexicalSkip?: boolean } };
      };
      expect(thirdConfig.config.selection.regionCropSize).toBe(8);
      expect(thirdConfig.config.adapter.lexicalSkip).toBe(true);
      const thirdWeights = await readFile(join(third, 'model.safetensors'));
      expect(thirdWeights.includes('region_encoder.gate') && thirdWeights.includes('lexical_skip.kernel')).toBe(true);
      expect(chained.previousCommand).toBe(`${before.command} && ${after.command}`);
      expect(chained.trainingMinutes['jointContinued']).toBeGreaterThanOrEqual(after.trainingMinutes['jointContinued']!);
      // Single parts alone: a copy head, the language side on answers, a lexical selector; no joint steps.
      const fourth = join(dir, 'fourth');
      const log4 = await train([
        '--continue', third, '--joint-steps', '0', '--copy-head', '4', '--copy-steps', '2', '--answer-steps', '2',
        '--answer-mix', 'reasoning=2,attribute=1', '--lexical-selector', '--selector-steps', '2', '--lm-layers', '3', '--out', fourth, '--run-dir', join(dir, 'run4'),
      ]);
      expect(log4).toMatch(/0 joint steps from example 32 after 2 copy-head, 2 answer, 2 lexical-selector steps/);
      const parts = await metadataOf(fourth);
      expect(parts.command).toBe(
        'npm run train -- --continue <previous checkpoint> --joint-steps 0 --copy-steps 2 --answer-steps 2 --answer-mix reasoning=2,attribute=1 --selector-steps 2 --copy-head 4 --lexical-selector --lm-layers 3',
      );
      expect(parts.plan).toMatchObject({ continuedJointSteps: 3, copyHeadSteps: 2, answerSteps: 2, lexicalSelectorSteps: 2 });
      expect(Object.keys(parts.trainingMinutes)).toEqual(expect.arrayContaining(['copyHead', 'answers', 'lexicalSelector']));
      const fourthConfig = JSON.parse(await readFile(join(fourth, 'config.json'), 'utf8')) as {
        config: { selection: { lexicalSelector?: boolean }; languageModel: { copyHeadDim?: number; numLayers: number } };
      };
      expect(fourthConfig.config.selection.lexicalSelector).toBe(true);
      expect(fourthConfig.config.languageModel.copyHeadDim).toBe(4);
      // The language model grown from 2 to 3 blocks, the new one trained by the answers phase.
      expect(fourthConfig.config.languageModel.numLayers).toBe(3);
      const fourthWeights = await readFile(join(fourth, 'model.safetensors'));
      expect(fourthWeights.includes('language_model.copy_head.strength_kernel') && fourthWeights.includes('lexical_selector.word_kernel')).toBe(true);
      const appended = parseSafetensors(fourthWeights);
      expect(appended.names).toContain('language_model.layers.2.mlp.linear2.kernel');
      // Started at zero (the identity); two answer steps moved it.
      expect(Array.from(appended.values('language_model.layers.2.mlp.linear2.kernel')).some((v) => v !== 0)).toBe(true);
      // The refit phase moves the small parts between the trunks and the pick, and nothing else.
      const fifth = join(dir, 'fifth');
      const log5 = await train([
        '--continue', fourth, '--joint-steps', '0', '--refit-steps', '2', '--refit-mix', 'reasoning=2,relational=1', '--out', fifth, '--run-dir', join(dir, 'run5'),
      ]);
      expect(log5).toMatch(/0 joint steps from example 32 after 2 refit steps/);
      const refit = await metadataOf(fifth);
      expect(refit.command).toBe('npm run train -- --continue <previous checkpoint> --joint-steps 0 --refit-steps 2 --refit-mix reasoning=2,relational=1');
      expect(refit.plan).toMatchObject({ refitSteps: 2, answerSteps: 2 });
      expect(Object.keys(refit.trainingMinutes)).toContain('refit');
      const before5 = parseSafetensors(fourthWeights);
      const after5 = parseSafetensors(await readFile(join(fifth, 'model.safetensors')));
      const changed = before5.names.filter((n) => Buffer.compare(Buffer.from(before5.rawBytes(n)), Buffer.from(after5.rawBytes(n))) !== 0);
      const refitParts = ['adapter.', 'lexical_skip.', 'region_encoder.', 'selector.', 'lexical_selector.'];
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.filter((n) => !refitParts.some((p) => n.startsWith(p)))).toEqual([]);
      for (const p of refitParts) expect(changed.some((n) => n.startsWith(p)), p).toBe(true);
      // Object tokens added to the loaded model; the attribute head re-fitted on condition-free
      // passes, then the language side (object tokens included) on the answers.
      const sixth = join(dir, 'sixth');
      const log6 = await train(['--continue', fifth, '--joint-steps', '0', '--object-tokens', '--attribute-steps', '2', '--answer-steps', '2', '--out', sixth, '--run-dir', join(dir, 'run6')]);
      expect(log6).toMatch(/0 joint steps from example 32 after 2 attribute-head, 2 answer steps/);
      const objects = await metadataOf(sixth);
      expect(objects.command).toBe('npm run train -- --continue <previous checkpoint> --joint-steps 0 --attribute-steps 2 --answer-steps 2 --object-tokens');
      expect(objects.plan).toMatchObject({ attributeHeadSteps: 2, answerSteps: 4 });
      expect(Object.keys(objects.trainingMinutes)).toContain('attributeHead');
      const sixthConfig = JSON.parse(await readFile(join(sixth, 'config.json'), 'utf8')) as { config: { languageModel: { objectTokens?: boolean } } };
      expect(sixthConfig.config.languageModel.objectTokens).toBe(true);
      const after6 = parseSafetensors(await readFile(join(sixth, 'model.safetensors')));
      expect(after6.names.filter((n) => !after5.names.includes(n)).sort()).toEqual(['object_tokens.proj.bias', 'object_tokens.proj.kernel']);
      const changed6 = after5.names.filter((n) => Buffer.compare(Buffer.from(after5.rawBytes(n)), Buffer.from(after6.rawBytes(n))) !== 0);
      const sixthParts = ['attribute_head.', 'language_model.', 'vision_encoder.'];
      expect(changed6.filter((n) => !sixthParts.some((p) => n.startsWith(p)))).toEqual([]);
      for (const p of sixthParts) expect(changed6.some((n) => n.startsWith(p)), p).toBe(true);
      await expect(train(['--continue', first, '--joint-steps', '0', '--out', join(dir, 'bad')])).rejects.toThrow(
        /--joint-steps: 0 joint steps and no --copy-steps, --attribute-steps, --answer-steps, --refit-steps or --selector-steps leave nothing to train/,
      );
      await expect(train(['--continue', first, '--copy-steps', '1', '--out', join(dir, 'bad')])).rejects.toThrow(/--copy-steps: the model has no copy head/);
      await expect(train(['--continue', first, '--selector-steps', '1', '--out', join(dir, 'bad')])).rejects.toThrow(/--selector-steps: the model has no lexical selector/);
      await expect(train(['--continue', first, '--answer-steps', '1', '--answer-mix', 'riddles=1', '--out', join(dir, 'bad')])).rejects.toThrow(
        /--answer-mix: expected family=weight pairs/,
      );
      await expect(train(['--continue', first, '--joint-steps', '1', '--refit-mix', 'reasoning=1', '--out', join(dir, 'bad')])).rejects.toThrow(
        /--refit-mix: weighs the families of --refit-steps, which is 0 or not given/,
      );
      await expect(train(['--continue', first, '--lm-weight', '0', '--out', join(dir, 'bad')])).rejects.toThrow(
        /--lm-weight: expected a positive number, received 0/,
      );
      await expect(train(['--continue', first])).rejects.toThrow(/--out: --continue needs an output folder/);
      await expect(train(['--continue', first, '--lm-layers', '0', '--out', join(dir, 'bad')])).rejects.toThrow(/--lm-layers: expected a positive integer, received 0/);
      await expect(train(['--continue', first, '--lm-layers', '1', '--out', join(dir, 'bad')])).rejects.toThrow(
        /overrides: the copy would lose weights of the original: language_model\.layers\.1\./,
      );
      await expect(train(['--continue', first, '--region-crops', '6', '--out', join(dir, 'bad')])).rejects.toThrow(
        /--region-crops: expected an integer multiple of 4, ≥ 8, received 6/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
