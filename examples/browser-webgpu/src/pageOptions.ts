import type { AnswerMode, BackendRequest } from './protocol.js';
import { FAMILIES, type Family } from '@flowseg/refseg-synth';

/** Page settings read from the URL query (`?backend=wasm&seed=3&run=1`). */
export interface PageOptions {
  /** `checkpoint`: URL of a checkpoint folder (default: the manifest's default). */
  readonly checkpoint: string | null;
  /** `backend`: auto (default), webgpu, webgl, wasm or cpu. */
  readonly backend: BackendRequest;
  /** `seed`: scene seed (default 0). */
  readonly seed: number;
  /** `family`: scene kind (default attribute). */
  readonly family: Family;
  /** `expression`: overrides the generated scene's expression. */
  readonly expression: string | null;
  /** `answer`: generate (default) or template. */
  readonly answerMode: AnswerMode;
  /** `run=1`: segment as soon as the model is loaded. */
  readonly autoRun: boolean;
  /** `answerTokens`: most answer tokens the language model generates (default 24). */
  readonly maxAnswerTokens: number;
}

const BACKENDS: readonly BackendRequest[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** Parse the query string; unknown values throw so that a typo is shown rather than ignored. */
export function readPageOptions(search: string): PageOptions {
  const q = new URLSearchParams(search);
  const backend = (q.get('backend') ?? 'auto') as BackendRequest;
  if (!BACKENDS.includes(backend)) throw new Error(`?backend=${backend}: expected one of ${BACKENDS.join(', ')}`);
  const seed = Number(q.get('seed') ?? '0');
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`?seed=${q.get('seed')}: expected a non-negative integer`);
  const family = (q.get('family') ?? 'attribute') as Family;
  if (!FAMILIES.includes(family)) throw new Error(`?family=${family}: expected one of ${FAMILIES.join(', ')}`);
  const answerMode = (q.get('answer') ?? 'generate') as AnswerMode;
  if (answerMode !== 'generate' && answerMode !== 'template') throw new Error(`?answer=${answerMode}: expected generate or template`);
  const maxAnswerTokens = Number(q.get('answerTokens') ?? '24');
  if (!Number.isInteger(maxAnswerTokens) || maxAnswerTokens < 1) {
    throw new Error(`?answerTokens=${q.get('answerTokens')}: expected a positive integer`);
  }
  return {
    maxAnswerTokens,
    checkpoint: q.get('checkpoint'),
    backend,
    seed,
    family,
    expression: q.get('expression'),
    answerMode,
    autoRun: q.get('run') === '1',
  };
}
