import { DEFAULT_SPLIT_SIZES } from '@flowseg/refseg-synth';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import { evaluateFamily } from '../evaluation/evaluateFamily.js';
import type { EvaluateArgs, ModelArgs } from './cliArgs.js';
import type { CliIO } from './runCli.js';
import { UsageError } from './usageError.js';

/** What `flowseg evaluate` measures for one family. */
export interface FamilyEvaluation {
  /** Samples evaluated. */
  readonly samples: number;
  /** Cumulative IoU over the samples. */
  readonly cIoU: number;
  /** Mean per-sample IoU (empty + empty = 1). */
  readonly gIoU: number;
  /** Share of generated answers equal to the reference answer (null with teacher-forced answers). */
  readonly exactAnswers: number | null;
  /** Oracle cIoU (teacher-forced answers only, else null). */
  readonly oracleCIoU: number | null;
}

/**
 * `flowseg evaluate`: samples `start … start + count − 1` of each family of a fixed split through
 * {@link evaluateFamily}, one family at a time (text lines appear as families finish).
 */
export async function runEvaluate(
  args: EvaluateArgs,
  io: CliIO,
  openModel: (args: ModelArgs) => Promise<{ model: FlowSegModel; dir: string }>,
): Promise<void> {
  const size = DEFAULT_SPLIT_SIZES[args.split];
  if (args.start >= size) throw new UsageError(`--start: the ${args.split} split has ${size} samples per family, received ${args.start}`);
  const count = args.count ?? size - args.start;
  if (args.start + count > size) {
    throw new UsageError(`--count: the ${args.split} split has ${size} samples per family; --start ${args.start} --count ${count} runs past it`);
  }
  const started = performance.now();
  const { model, dir } = await openModel(args);
  try {
    const families: Record<string, FamilyEvaluation> = {};
    if (!args.json) {
      io.stdout(
        [
          `checkpoint: ${dir}`,
          `${args.split} split, samples ${args.start}–${args.start + count - 1} of each family, ${args.answers} answers`,
          `${'family'.padEnd(12)}${'samples'.padStart(8)}${'cIoU'.padStart(8)}${'gIoU'.padStart(8)}  ${args.answers === 'generated' ? 'exact answers' : 'oracle cIoU'}`,
        ].join('\n') + '\n',
      );
    }
    for (const family of args.families) {
      const { examples, result: r } = await evaluateFamily(model, args.split, family, args.start, count, { answers: args.answers });
      const exact = args.answers === 'generated' ? r.samples.filter((s, i) => s.answer.trim() === examples[i]!.answer.trim()).length / count : null;
      const f: FamilyEvaluation = { samples: count, cIoU: r.metrics.cIoU, gIoU: r.metrics.gIoU, exactAnswers: exact, oracleCIoU: r.oracleCIoU };
      families[family] = f;
      if (!args.json) {
        const last = exact === null ? f.oracleCIoU!.toFixed(3) : `${(100 * exact).toFixed(1)} %`;
        io.stdout(`${family.padEnd(12)}${String(count).padStart(8)}${f.cIoU.toFixed(3).padStart(8)}${f.gIoU.toFixed(3).padStart(8)}  ${last}\n`);
      }
    }
    const entries = Object.entries(families);
    const mean = (pick: (f: FamilyEvaluation, family: string) => number) => entries.reduce((a, [k, f]) => a + pick(f, k), 0) / entries.length;
    // What releases are chosen on: cIoU per family, but gIoU for the empty split (no target pixels:
    // its cIoU is 0 as soon as one prediction is not empty).
    const releaseMean = mean((f, family) => (family === 'empty' ? f.gIoU : f.cIoU));
    const seconds = (performance.now() - started) / 1000;
    if (args.json) {
      io.stdout(
        `${JSON.stringify({ checkpoint: dir, split: args.split, start: args.start, count, answers: args.answers, families, meanCIoU: mean((f) => f.cIoU), meanGIoU: mean((f) => f.gIoU), releaseMean, seconds })}\n`,
      );
      return;
    }
    io.stdout(
      [
        `${'mean'.padEnd(12)}${''.padStart(8)}${mean((f) => f.cIoU).toFixed(3).padStart(8)}${mean((f) => f.gIoU).toFixed(3).padStart(8)}`,
        ...(families['empty'] ? [`release mean (cIoU per family, gIoU for empty): ${releaseMean.toFixed(4)}`] : []),
        `done in ${seconds.toFixed(1)} s`,
      ].join('\n') + '\n',
    );
  } finally {
    model.dispose();
  }
}
