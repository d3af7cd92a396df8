/**
 * What `npm run train` and `npm run ablation` share: their command-line reading, the wasm
 * backend start, and the training data of each stage (so the ablation's rows and the shipped
 * checkpoint see the same streams).
 */
import { selectBackend } from '@flowseg/core';
import { refsegExamples, DEFAULT_FAMILY_MIX, type ReferringExample } from '@flowseg/flowseg-model';

/** The value after `name` on the command line, if present. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * Start the wasm backend with `--threads N` (a positive integer; default one per core) and
 * return a one-line description of it, e.g. `wasm wasm ×2 threads`.
 */
export async function startWasmBackend(): Promise<string> {
  const raw = argValue('--threads');
  const threads = raw === undefined ? undefined : Number(raw);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) {
    throw new Error(`--threads: expected a positive integer, received ${raw}`);
  }
  const selection = await selectBackend('wasm', threads === undefined ? {} : { wasmThreads: threads });
  return `${selection.backend} ${selection.device ?? ''}`.trim();
}

/** `(start, count) → examples` of the train split, one per training stage. */
export const TRAINING_STREAMS: Record<'segmentor' | 'alignment' | 'joint', (start: number, count: number) => ReferringExample[]> = {
  // Stage 1 masks every object: any family's scenes will do (empty scenes add nothing).
  segmentor: (a, n) => refsegExamples('train', { attribute: 1, relational: 1, reasoning: 1, multi: 1 }, a, n),
  alignment: (a, n) => refsegExamples('train', { attribute: 1, relational: 1 }, a, n),
  joint: (a, n) => refsegExamples('train', DEFAULT_FAMILY_MIX, a, n),
};
