import { parseArgs } from 'node:util';
import { UsageError } from './usageError.js';

/** Backends the CLI accepts. */
export const CLI_BACKENDS = ['wasm', 'cpu', 'webgpu', 'auto'] as const;

/** A backend name the CLI accepts. */
export type CliBackend = (typeof CLI_BACKENDS)[number];

/** Options every command that loads a model shares. */
export interface ModelArgs {
  /** `--checkpoint`, or null for the default checkpoint. */
  readonly checkpoint: string | null;
  /** `--backend`. */
  readonly backend: CliBackend;
  /** `--threads`, or null for the backend's default. */
  readonly threads: number | null;
  /** `--json`. */
  readonly json: boolean;
}

/** `flowseg segment …`. */
export interface SegmentArgs extends ModelArgs {
  /** Command. */
  readonly command: 'segment';
  /** `--image`. */
  readonly image: string;
  /** `--prompt`. */
  readonly prompt: string;
  /** `--mask`, or null for the default next to the image. */
  readonly mask: string | null;
  /** `--out`, or null for the default next to the image. */
  readonly out: string | null;
  /** `--answer`, or null to generate. */
  readonly answer: string | null;
  /** `--max-new-tokens`, or null for the default. */
  readonly maxNewTokens: number | null;
  /** `--threshold`. */
  readonly threshold: number;
  /** `--outline-candidates`. */
  readonly outlineCandidates: number;
}

/** `flowseg info …`. */
export interface InfoArgs extends ModelArgs {
  /** Command. */
  readonly command: 'info';
}

/** `flowseg demo …`: a generated scene (or `--image` + `--prompt`) through the model. */
export interface DemoArgs extends ModelArgs {
  /** Command. */
  readonly command: 'demo';
  /** `--seed` of the generated scene (null: a fresh one, printed). */
  readonly seed: number | null;
  /** `--family` of the generated expression. */
  readonly family: DemoFamily | null;
  /** `--image` (with `--prompt`) instead of a generated scene. */
  readonly image: string | null;
  /** `--prompt` for `--image`. */
  readonly prompt: string | null;
  /** `--out` overlay PNG. */
  readonly out: string;
}

/** `flowseg evaluate …`: cIoU / gIoU of a checkpoint on the synthetic benchmark. */
export interface EvaluateArgs extends ModelArgs {
  /** Command. */
  readonly command: 'evaluate';
  /** `--split` (default `test`). */
  readonly split: EvaluateSplit;
  /** `--family`, comma-separated (default: every family, in {@link DEMO_FAMILIES} order). */
  readonly families: readonly DemoFamily[];
  /** `--start`: first sample index of each family (default 0). */
  readonly start: number;
  /** `--count`: samples per family, or null for the rest of the split after `start`. */
  readonly count: number | null;
  /** `--answers` (default `generated`). */
  readonly answers: 'generated' | 'teacher-forced';
}

/** Splits `flowseg evaluate` reads. */
export const EVALUATE_SPLITS = ['test', 'val', 'train'] as const;

/** One of {@link EVALUATE_SPLITS}. */
export type EvaluateSplit = (typeof EVALUATE_SPLITS)[number];

/** Expression families `flowseg demo` can generate. */
export const DEMO_FAMILIES = ['attribute', 'relational', 'reasoning', 'multi', 'empty'] as const;

/** One of {@link DEMO_FAMILIES}. */
export type DemoFamily = (typeof DEMO_FAMILIES)[number];

/** What the command line asks for. */
export type CliArgs =
  | SegmentArgs
  | InfoArgs
  | DemoArgs
  | EvaluateArgs
  | { readonly command: 'help'; readonly topic: 'main' | 'segment' | 'info' | 'demo' | 'evaluate' }
  | { readonly command: 'version' };

const MODEL_OPTIONS = {
  checkpoint: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SEGMENT_OPTIONS = {
  ...MODEL_OPTIONS,
  image: { type: 'string' },
  prompt: { type: 'string' },
  mask: { type: 'string' },
  out: { type: 'string' },
  answer: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  threshold: { type: 'string' },
  'outline-candidates': { type: 'string' },
} as const;

const DEMO_OPTIONS = {
  ...MODEL_OPTIONS,
  seed: { type: 'string' },
  family: { type: 'string' },
  image: { type: 'string' },
  prompt: { type: 'string' },
  out: { type: 'string' },
} as const;

const EVALUATE_OPTIONS = {
  ...MODEL_OPTIONS,
  split: { type: 'string' },
  family: { type: 'string' },
  start: { type: 'string' },
  count: { type: 'string' },
  answers: { type: 'string' },
} as const;

/** `value` as one of `allowed`, or a usage error naming `--option`. */
function oneOf<T extends string>(value: string | boolean | undefined, option: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${option}: expected one of ${allowed.join(', ')}, received ${JSON.stringify(value)}`);
  }
  return value as T;
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    // node:util messages are already one clear sentence ("Unknown option '--foo'").
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]}`);
  }
}

function integer(value: string | boolean | undefined, option: string, min: number): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${option}: expected an integer ≥ ${min}, received ${JSON.stringify(value)}`);
  }
  return n;
}

function text(value: string | boolean | undefined, option: string, required: boolean): string | null {
  if (value === undefined) {
    if (required) throw new UsageError(`--${option} is required`);
    return null;
  }
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${option}: expected a non-empty value`);
  return value;
}

function modelArgs(values: Record<string, string | boolean | undefined>): ModelArgs {
  const backend = (values['backend'] ?? 'wasm') as string;
  if (!(CLI_BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`--backend: expected one of ${CLI_BACKENDS.join(', ')}, received ${JSON.stringify(backend)}`);
  }
  return {
    checkpoint: text(values['checkpoint'], 'checkpoint', false),
    backend: backend as CliBackend,
    threads: integer(values['threads'], 'threads', 1),
    json: values['json'] === true,
  };
}

/**
 * Parse `flowseg`'s arguments (without `node` and the script).
 * @throws UsageError for anything the command line gets wrong.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return { command: 'help', topic: 'main' };
  }
  if (command === '--version' || command === '-v') return { command: 'version' };
  if (command === 'segment') {
    const values = parse('segment', rest, SEGMENT_OPTIONS);
    if (values['help']) return { command: 'help', topic: 'segment' };
    const thresholdText = values['threshold'];
    let threshold = 0.5;
    if (thresholdText !== undefined) {
      threshold = Number(thresholdText);
      if (typeof thresholdText !== 'string' || thresholdText.trim() === '' || !(threshold > 0 && threshold < 1)) {
        throw new UsageError(`--threshold: expected a probability in (0, 1), received ${JSON.stringify(thresholdText)}`);
      }
    }
    return {
      command: 'segment',
      ...modelArgs(values),
      image: text(values['image'], 'image', true)!,
      prompt: text(values['prompt'], 'prompt', true)!,
      mask: text(values['mask'], 'mask', false),
      out: text(values['out'], 'out', false),
      answer: values['answer'] === undefined ? null : String(values['answer']),
      maxNewTokens: integer(values['max-new-tokens'], 'max-new-tokens', 1),
      threshold,
      outlineCandidates: integer(values['outline-candidates'], 'outline-candidates', 0) ?? 0,
    };
  }
  if (command === 'demo') {
    const values = parse('demo', rest, DEMO_OPTIONS);
    if (values['help']) return { command: 'help', topic: 'demo' };
    const family = values['family'];
    if (family !== undefined && !(DEMO_FAMILIES as readonly unknown[]).includes(family)) {
      throw new UsageError(`--family: expected one of ${DEMO_FAMILIES.join(', ')}, received ${JSON.stringify(family)}`);
    }
    const image = text(values['image'], 'image', false);
    const prompt = text(values['prompt'], 'prompt', false);
    if ((image === null) !== (prompt === null)) throw new UsageError('--image and --prompt go together');
    if (image !== null && (values['seed'] !== undefined || family !== undefined)) {
      throw new UsageError('--seed and --family describe a generated scene; they do not apply to --image');
    }
    return {
      command: 'demo',
      ...modelArgs(values),
      seed: integer(values['seed'], 'seed', 0),
      family: (family as DemoFamily | undefined) ?? null,
      image,
      prompt,
      out: text(values['out'], 'out', false) ?? 'flowseg-overlay.png',
    };
  }
  if (command === 'evaluate') {
    const values = parse('evaluate', rest, EVALUATE_OPTIONS);
    if (values['help']) return { command: 'help', topic: 'evaluate' };
    const rawFamilies = text(values['family'], 'family', false);
    const families = rawFamilies === null ? [...DEMO_FAMILIES] : rawFamilies.split(',').map((f) => f.trim());
    for (const f of families) {
      if (!(DEMO_FAMILIES as readonly string[]).includes(f)) {
        throw new UsageError(`--family: expected one or more of ${DEMO_FAMILIES.join(', ')} separated by commas, received ${JSON.stringify(rawFamilies)}`);
      }
    }
    if (new Set(families).size !== families.length) throw new UsageError(`--family: names a family twice: ${JSON.stringify(rawFamilies)}`);
    return {
      command: 'evaluate',
      ...modelArgs(values),
      split: oneOf(values['split'], 'split', EVALUATE_SPLITS, 'test'),
      families: families as DemoFamily[],
      start: integer(values['start'], 'start', 0) ?? 0,
      count: integer(values['count'], 'count', 1),
      answers: oneOf(values['answers'], 'answers', ['generated', 'teacher-forced'] as const, 'generated'),
    };
  }
  if (command === 'info') {
    const values = parse('info', rest, MODEL_OPTIONS);
    if (values['help']) return { command: 'help', topic: 'info' };
    return { command: 'info', ...modelArgs(values) };
  }
  throw new UsageError(
    command.startsWith('-') ? `unknown option ${JSON.stringify(command)} (expected a command first)` : `unknown command ${JSON.stringify(command)}`,
  );
}
