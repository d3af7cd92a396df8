import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@flowseg/core';
import { generateSample } from '@flowseg/refseg-synth';
import { renderResultOverlay, segment, unionMask, refsegExamples, type FlowSegModel } from '../../src/index.js';
import { evaluateModel } from '../../src/evaluation/evaluateModel.js';
import { decodePng, encodeRgbPng, loadCheckpoint, runCli, saveCheckpoint, EXIT_CODES } from '../../src/node/index.js';
import { DEFAULT_CHECKPOINT_DIR } from '../../src/cli/defaultCheckpoint.js';
import { tinyModel } from '../support/tinyFlowSeg.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = join(packageDir, 'src/cli/flowseg.ts');
const sample = generateSample('val', 'attribute', 2);
let dir: string;
let checkpoint: string;
let imagePath: string;
let model: FlowSegModel;

/** Run the CLI in this process; returns its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** Run the CLI from source in a child process with tsx. */
function child(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cliPath, ...argv],
      // The repository's tsconfig maps every @flowseg/* package to its sources (no build needed).
      { cwd: packageDir, timeout: 90_000, env: { ...process.env, TSX_TSCONFIG_PATH: join(packageDir, '../../tsconfig.json') } },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('flowseg CLI', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { wasmThreads: 1 });
    dir = await mkdtemp(join(tmpdir(), 'flowseg-cli-'));
    checkpoint = join(dir, 'checkpoint');
    model = tinyModel({ seed: 3 });
    await saveCheckpoint(model, checkpoint, { metadata: { note: 'tiny test model' } });
    imagePath = join(dir, 'scene.png');
    await writeFile(imagePath, encodeRgbPng({ rgb: sample.scene.image, width: 64, height: 64 }));
  });

  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('segment (child process, from source with tsx): writes mask and overlay PNGs, prints answer and score, exit 0', async () => {
    const mask = join(dir, 'child-mask.png');
    const overlay = join(dir, 'child-overlay.png');
    const run = await child(
      'segment', '--image', imagePath, '--prompt', sample.prompt, '--checkpoint', checkpoint,
      '--mask', mask, '--out', overlay, '--answer', sample.answer, '--threads', '1',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`answer:  ${sample.answer} (given)`);
    expect(run.stdout).toMatch(/target 0 "[a-z ]+": score -?\d+\.\d{3} \(p \d\.\d{3}, query \d/);
    const maskPng = decodePng(new Uint8Array(await readFile(mask)));
    expect([maskPng.width, maskPng.height]).toEqual([64, 64]);
    expect(maskPng.rgb.every((v) => v === 0 || v === 255)).toBe(true);
    const overlayPng = decodePng(new Uint8Array(await readFile(overlay)));
    expect([overlayPng.width, overlayPng.height]).toEqual([64, 64]);
    // No temporary files left next to the outputs.
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('usage errors (child process): exit 2 with one line on stderr, no stack trace', async () => {
    const run = await child('segment', '--image', imagePath);
    expect(run.code).toBe(EXIT_CODES.usageError);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('flowseg: error: --prompt is required (see flowseg --help)\n');
  });

  it('segment (in process): mask PNG equals the union of segment()’s masks; overlay tints them; --json', async () => {
    const mask = join(dir, 'mask.png');
    const overlay = join(dir, 'overlay.png');
    const answer = '<p> the red circle </p> <SEG> <p> the square </p> <SEG>';
    const run = await cli(
      'segment', '--image', imagePath, '--prompt', 'the red shapes', '--checkpoint', checkpoint,
      '--mask', mask, '--out', overlay, '--answer', answer, '--json', '--outline-candidates', '1',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { answer: string; prompt: string; targets: { pixels: number; score: number }[]; mask: string };
    expect(printed.prompt).toBe('segment the red shapes');
    expect(printed.answer).toBe(answer);
    expect(printed.targets).toHaveLength(2);
    expect(printed.mask).toBe(mask);
    const expected = await segment(model, { rgb: sample.scene.image, width: 64, height: 64 }, 'the red shapes', { answer });
    const union = unionMask(expected);
    const written = decodePng(new Uint8Array(await readFile(mask)));
    expect(Array.from(written.rgb.filter((_, i) => i % 3 === 0))).toEqual(Array.from(union.data, (v) => v * 255));
    expect(printed.targets.map((t) => t.score)).toEqual(expected.targets.map((t) => t.score));
    const tinted = decodePng(new Uint8Array(await readFile(overlay)));
    const image = { rgb: sample.scene.image, width: 64, height: 64 };
    expect(tinted).toEqual(renderResultOverlay(image, expected, { candidateOutlines: 1 }));
  });

  it('segment writes its outputs next to the image by default and reports an empty answer', async () => {
    const run = await cli('segment', '--image', imagePath, '--prompt', 'find the purple star', '--checkpoint', checkpoint, '--answer', '<p> the purple star </p> no object matches');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('targets: none (the answer has no <SEG>); the mask is empty');
    const written = decodePng(new Uint8Array(await readFile(join(dir, 'scene.mask.png'))));
    expect(written.rgb.every((v) => v === 0)).toBe(true);
    expect(existsSync(join(dir, 'scene.overlay.png'))).toBe(true);
  });

  it('info prints the config and parameter counts per top-level part and in total', async () => {
    const json = await cli('info', '--checkpoint', checkpoint, '--json');
    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout) as { parameters: Record<string, number>; totalParameters: number; metadata: unknown; config: unknown };
    const parts = [...new Set([...model.namedWeights().keys()].map((k) => k.split('.')[0]))];
    expect(Object.keys(info.parameters)).toEqual(parts);
    expect(parts).toEqual(expect.arrayContaining(['segmentation_encoder', 'pixel_decoder', 'vision_encoder', 'language_model', 'adapter', 'decoder', 'bar', 'selector']));
    expect(Object.values(info.parameters).reduce((a, b) => a + b, 0)).toBe(info.totalParameters);
    expect(info.totalParameters).toBe(model.countParams());
    // selector: two Linear(32 → 16) = 2·(32·16 + 16).
    expect(info.parameters['selector']).toBe(2 * (32 * 16 + 16));
    expect(info.metadata).toEqual({ note: 'tiny test model' });
    expect(info.config).toEqual(model.config);
    const text = await cli('info', '--checkpoint', checkpoint);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('ablation: full (SR on, CR on, BAR on)');
    expect(text.stdout).toMatch(new RegExp(`total\\s+${model.countParams().toLocaleString('en-US')}\\n`));
  });

  it('evaluate: per-family figures equal evaluateModel on the same samples of the named split', async () => {
    // The shipped checkpoint: a trained model's figures differ from sample to sample, so the
    // comparison catches a wrong split, start or count (an untrained one scores ~0 everywhere).
    const run = await cli('evaluate', '--split', 'val', '--family', 'attribute,reasoning', '--start', '2', '--count', '3', '--threads', '1', '--json');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      split: string;
      start: number;
      count: number;
      families: Record<string, { samples: number; cIoU: number; gIoU: number; exactAnswers: number | null; oracleCIoU: number | null }>;
      meanCIoU: number;
      releaseMean: number;
    };
    expect(out).toMatchObject({ split: 'val', start: 2, count: 3 });
    expect(Object.keys(out.families)).toEqual(['attribute', 'reasoning']);
    const shipped = await loadCheckpoint(DEFAULT_CHECKPOINT_DIR);
    try {
      for (const family of ['attribute', 'reasoning'] as const) {
        const examples = refsegExamples('val', { [family]: 1 }, 2, 3);
        const direct = await evaluateModel(shipped, examples);
        const exact = direct.samples.filter((s, i) => s.answer.trim() === examples[i]!.answer.trim()).length / 3;
        expect(out.families[family]).toEqual({ samples: 3, cIoU: direct.metrics.cIoU, gIoU: direct.metrics.gIoU, exactAnswers: exact, oracleCIoU: null });
        // Other samples give other figures (what makes the comparison above a check of the range).
        const other = await evaluateModel(shipped, refsegExamples('val', { [family]: 1 }, 0, 3));
        expect(other.metrics.cIoU).not.toBe(direct.metrics.cIoU);
      }
    } finally {
      shipped.dispose();
    }
    expect(out.meanCIoU).toBeCloseTo((out.families['attribute']!.cIoU + out.families['reasoning']!.cIoU) / 2, 12);
    // Without the empty family the release mean is the mean cIoU.
    expect(out.releaseMean).toBeCloseTo(out.meanCIoU, 12);
    // Teacher-forced: the oracle instead of exact answers.
    const forced = await cli('evaluate', '--checkpoint', checkpoint, '--family', 'reasoning', '--count', '2', '--answers', 'teacher-forced', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    const direct = await evaluateModel(model, refsegExamples('test', { reasoning: 1 }, 0, 2, { width: 32, height: 32 }), { answers: 'teacher-forced' });
    expect((JSON.parse(forced.stdout) as typeof out).families['reasoning']).toEqual({
      samples: 2,
      cIoU: direct.metrics.cIoU,
      gIoU: direct.metrics.gIoU,
      exactAnswers: null,
      oracleCIoU: direct.oracleCIoU,
    });
    const text = await cli('evaluate', '--checkpoint', checkpoint, '--family', 'multi', '--start', '998');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('test split, samples 998–999 of each family, generated answers');
    expect(text.stdout).toMatch(/\nmulti\s+2\s+\d\.\d{3}\s+\d\.\d{3}\s+\d+\.\d %\nmean\s+\d\.\d{3}/);
    expect(text.stdout).not.toContain('release mean');
    // With the empty family its gIoU, not its cIoU, enters the release mean (shipped checkpoint:
    // it predicts a mask for some empty targets, so the two differ).
    const withEmpty = await cli('evaluate', '--split', 'val', '--family', 'attribute,empty', '--count', '4', '--threads', '1', '--json');
    expect(withEmpty.code, withEmpty.stderr).toBe(0);
    const both = JSON.parse(withEmpty.stdout) as typeof out & { families: Record<string, { cIoU: number; gIoU: number }> };
    expect(both.families['empty']!.cIoU).not.toBeCloseTo(both.families['empty']!.gIoU, 3);
    expect(both.releaseMean).toBeCloseTo((both.families['attribute']!.cIoU + both.families['empty']!.gIoU) / 2, 12);
    const withEmptyText = await cli('evaluate', '--split', 'val', '--family', 'attribute,empty', '--count', '4', '--threads', '1');
    expect(withEmptyText.stdout).toContain(`release mean (cIoU per family, gIoU for empty): ${both.releaseMean.toFixed(4)}`);
  });

  it('help and version', async () => {
    for (const argv of [[], ['--help'], ['-h']]) {
      const run = await cli(...argv);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('flowseg segment --image <in.png> --prompt');
    }
    expect((await cli('segment', '--help')).stdout).toContain('--outline-candidates');
    expect((await cli('info', '-h')).stdout).toContain('Usage: flowseg info');
    expect((await cli('evaluate', '--help')).stdout).toContain('Usage: flowseg evaluate');
    expect((await cli('--version')).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('usage errors exit 2, runtime errors exit 1, each with one line', async () => {
    const usage: string[][] = [
      ['frobnicate'],
      ['--frobnicate'],
      ['segment', '--prompt', 'x'],
      ['segment', '--image', imagePath, '--prompt', 'x', '--colour', 'red'],
      ['segment', '--image', imagePath, '--prompt', 'x', '--backend', 'gpu'],
      ['segment', '--image', imagePath, '--prompt', 'x', '--threshold', '1.5'],
      ['segment', '--image', imagePath, '--prompt', 'x', '--max-new-tokens', '0'],
      ['segment', '--image', imagePath, '--prompt', 'x', '--threads', 'two'],
      ['segment', '--image', imagePath, '--prompt', 'x', '--mask', join(dir, 'no-folder', 'm.png')],
      ['info', 'extra'],
      ['evaluate', '--split', 'holdout'],
      ['evaluate', '--family', 'riddles'],
      ['evaluate', '--family', 'attribute,attribute'],
      ['evaluate', '--answers', 'forced'],
      ['evaluate', '--count', '0'],
      ['evaluate', '--checkpoint', checkpoint, '--split', 'val', '--start', '500'],
      ['evaluate', '--checkpoint', checkpoint, '--split', 'val', '--start', '400', '--count', '101'],
    ];
    for (const argv of usage) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(EXIT_CODES.usageError);
      expect(run.stderr, argv.join(' ')).toMatch(/^flowseg: error: [^\n]+ \(see flowseg --help\)\n$/);
    }
    const runtime: [string[], RegExp][] = [
      [['segment', '--image', join(dir, 'missing.png'), '--prompt', 'x', '--checkpoint', checkpoint], /--image: .*missing\.png: no such file/],
      [['segment', '--image', join(dir, 'checkpoint', 'config.json'), '--prompt', 'x', '--checkpoint', checkpoint], /not a PNG file/],
      [['segment', '--image', imagePath, '--prompt', 'x', '--checkpoint', join(dir, 'nowhere')], /nowhere: no checkpoint folder here/],
      [['info', '--checkpoint', join(dir, 'nowhere')], /no checkpoint folder here/],
      [['segment', '--image', imagePath, '--prompt', 'x', '--checkpoint', checkpoint, '--answer', '<p> open'], /answer: not a well-formed answer/],
    ];
    for (const [argv, pattern] of runtime) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(EXIT_CODES.runtimeError);
      expect(run.stderr, argv.join(' ')).toMatch(/^flowseg: error: [^\n]+\n$/);
      expect(run.stderr).toMatch(pattern);
    }
  });

  it('says clearly when the default checkpoint has not been trained yet', async () => {
    if (existsSync(DEFAULT_CHECKPOINT_DIR)) return; // shipped: nothing to check here
    const run = await cli('info');
    expect(run.code).toBe(EXIT_CODES.runtimeError);
    expect(run.stderr).toMatch(/^flowseg: error: no checkpoint at .*checkpoints\/flowseg-small: the shipped flowseg-small checkpoint has not been trained yet\. Train one/);
  });
});
