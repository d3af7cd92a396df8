import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FlowSegError, selectBackend } from '@flowseg/core';
import { previousDirectory } from '@flowseg/core/node';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import { ablationOf } from '../config/flowSegConfig.js';
import { CHECKPOINT_FILES, checkpointMetadata } from '../checkpoint/checkpointFormat.js';
import { loadCheckpoint, readCheckpointFile } from '../node/checkpointFiles.js';
import { readPngFile, writeMaskPngFile, writeRgbPngFile } from '../node/imageFiles.js';
import { segment } from '../inference/segment.js';
import { renderResultOverlay, unionMask } from '../inference/resultMasks.js';
import { parseCliArgs, type InfoArgs, type ModelArgs, type SegmentArgs } from './cliArgs.js';
import { runDemo } from './runDemo.js';
import { runEvaluate } from './runEvaluate.js';
import { DEFAULT_CHECKPOINT_DIR, MISSING_DEFAULT_CHECKPOINT_HINT } from './defaultCheckpoint.js';
import { parameterCounts } from './parameterCounts.js';
import { DEMO_USAGE, EVALUATE_USAGE, INFO_USAGE, MAIN_USAGE, SEGMENT_USAGE } from './usage.js';
import { UsageError } from './usageError.js';

/** Where the CLI writes: one call per chunk of text (newlines included). */
export interface CliIO {
  /** Normal output. */
  readonly stdout: (text: string) => void;
  /** Errors and notes. */
  readonly stderr: (text: string) => void;
}

/** Exit codes of `flowseg`. */
export const EXIT_CODES = { ok: 0, runtimeError: 1, usageError: 2 } as const;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** @internal Start the backend and load the checkpoint `args` names (or the default one). */
export async function openModel(args: ModelArgs): Promise<{ model: FlowSegModel; dir: string }> {
  const dir = resolve(args.checkpoint ?? DEFAULT_CHECKPOINT_DIR);
  if (args.checkpoint === null && !(await exists(dir)) && !(await exists(previousDirectory(dir)))) {
    throw new FlowSegError(`no checkpoint at ${dir}: ${MISSING_DEFAULT_CHECKPOINT_HINT}`, 'checkpoint');
  }
  await selectBackend(args.backend, args.threads === null ? {} : { wasmThreads: args.threads });
  return { model: await loadCheckpoint(dir), dir };
}

async function checkOutputFolder(path: string, option: string): Promise<void> {
  const folder = dirname(path);
  let ok = false;
  try {
    ok = (await stat(folder)).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`--${option} ${path}: the folder ${folder} does not exist`);
}

function format(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

async function runSegment(args: SegmentArgs, io: CliIO): Promise<void> {
  const stem = join(dirname(args.image), basename(args.image, extname(args.image)));
  const maskPath = resolve(args.mask ?? `${stem}.mask.png`);
  const overlayPath = resolve(args.out ?? `${stem}.overlay.png`);
  await checkOutputFolder(maskPath, 'mask');
  await checkOutputFolder(overlayPath, 'out');
  // Read the image before starting a backend: a bad file fails fast.
  const image = await readPngFile(args.image, {}, '--image');
  const { model } = await openModel(args);
  try {
    const result = await segment(model, image, args.prompt, {
      ...(args.answer === null ? {} : { answer: args.answer }),
      ...(args.maxNewTokens === null ? {} : { maxNewTokens: args.maxNewTokens }),
      maskThreshold: args.threshold,
      candidates: args.outlineCandidates > 0 ? 'image' : 'none',
    });
    const mask = unionMask(result);
    const overlay = renderResultOverlay(image, result, { candidateOutlines: args.outlineCandidates });
    await writeMaskPngFile(maskPath, mask);
    await writeRgbPngFile(overlayPath, overlay);
    const targets = result.targets.map((t) => ({
      segIndex: t.segIndex,
      phrases: t.phrases,
      selectedIndex: t.selectedIndex,
      score: t.score,
      probability: t.probability,
      objectProbability: t.objectProbability,
      pixels: t.mask.data.reduce((a, v) => a + v, 0),
    }));
    if (args.json) {
      io.stdout(
        `${JSON.stringify({
          prompt: result.prompt,
          answer: result.answer,
          answerSource: result.answerSource,
          repairs: result.repairs,
          unknownWords: result.unknownWords,
          phrases: result.phrases,
          targets,
          mask: maskPath,
          overlay: overlayPath,
        })}\n`,
      );
      return;
    }
    const lines = [`prompt:  ${result.prompt}`, `answer:  ${result.answer}${result.answerSource === 'given' ? ' (given)' : ''}`];
    if (result.unknownWords.length > 0) lines.push(`note: words outside the vocabulary (read as <unk>): ${result.unknownWords.join(', ')}`);
    for (const r of result.repairs) lines.push(`note: answer repaired: ${r}`);
    if (targets.length === 0) lines.push('targets: none (the answer has no <SEG>); the mask is empty');
    for (const t of targets) {
      const phrase = t.phrases.length > 0 ? ` "${t.phrases.join('" + "')}"` : '';
      lines.push(
        `target ${t.segIndex}${phrase}: score ${format(t.score)} (p ${format(t.probability)}, query ${t.selectedIndex}, object p ${format(t.objectProbability)}), ${t.pixels} px`,
      );
    }
    lines.push(`mask:    ${maskPath}`, `overlay: ${overlayPath}`);
    io.stdout(`${lines.join('\n')}\n`);
  } finally {
    model.dispose();
  }
}

async function runInfo(args: InfoArgs, io: CliIO): Promise<void> {
  const { model, dir } = await openModel(args);
  try {
    const metadata = checkpointMetadata(new TextDecoder().decode(await readCheckpointFile(dir, CHECKPOINT_FILES.config)));
    const counts = parameterCounts(model);
    const c = model.config;
    if (args.json) {
      io.stdout(
        `${JSON.stringify({ checkpoint: dir, config: c, metadata, vocabSize: model.tokenizer.vocabSize, parameters: counts.parts, totalParameters: counts.total })}\n`,
      );
      return;
    }
    const [mh, mw] = model.maskSize;
    const width = Math.max(...Object.keys(counts.parts).map((k) => k.length), 'total'.length);
    const lines = [
      `checkpoint: ${dir}`,
      `image ${c.image.width}×${c.image.height}, masks ${mw}×${mh}, ${c.decoder.numQueries} queries, ${c.decoder.numLayers} decoder layers`,
      `ablation: ${ablationOf(c) ?? 'custom'} (SR ${c.bsf.semanticRefinement ? 'on' : 'off'}, CR ${c.bsf.conditionRefinement ? 'on' : 'off'}, BAR ${c.bar.enabled ? 'on' : 'off'})`,
      `vocabulary: ${model.tokenizer.vocabSize} tokens`,
      `metadata: ${JSON.stringify(metadata)}`,
      'parameters:',
      ...Object.entries(counts.parts).map(([k, v]) => `  ${k.padEnd(width)}  ${v.toLocaleString('en-US').padStart(12)}`),
      `  ${'total'.padEnd(width)}  ${counts.total.toLocaleString('en-US').padStart(12)}`,
      'config:',
      JSON.stringify(c, null, 2),
    ];
    io.stdout(`${lines.join('\n')}\n`);
  } finally {
    model.dispose();
  }
}

async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Run `flowseg` with `argv` (arguments after the script name) and return its exit code:
 * 0 success, 1 runtime error, 2 usage error. Errors are reported as one line on `stderr`
 * (`flowseg: error: …`), never as a stack trace.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    const args = parseCliArgs(argv);
    switch (args.command) {
      case 'help':
        io.stdout({ segment: SEGMENT_USAGE, info: INFO_USAGE, demo: DEMO_USAGE, evaluate: EVALUATE_USAGE, main: MAIN_USAGE }[args.topic]);
        return EXIT_CODES.ok;
      case 'version':
        io.stdout(`${await packageVersion()}\n`);
        return EXIT_CODES.ok;
      case 'segment':
        await runSegment(args, io);
        return EXIT_CODES.ok;
      case 'info':
        await runInfo(args, io);
        return EXIT_CODES.ok;
      case 'demo':
        await runDemo(args, io, openModel);
        return EXIT_CODES.ok;
      case 'evaluate':
        await runEvaluate(args, io, openModel);
        return EXIT_CODES.ok;
    }
  } catch (e) {
    const message = oneLine(e instanceof Error ? e.message : String(e));
    if (e instanceof UsageError) {
      io.stderr(`flowseg: error: ${message} (see flowseg --help)\n`);
      return EXIT_CODES.usageError;
    }
    io.stderr(`flowseg: error: ${message}\n`);
    return EXIT_CODES.runtimeError;
  }
}
