import { fileURLToPath } from 'node:url';

/**
 * The checkpoint the CLI uses without `--checkpoint`: `packages/flowseg-model/checkpoints/flowseg-small`
 * (the same path relative to `src/cli/` when run with tsx and to `dist/cli/` when built).
 */
export const DEFAULT_CHECKPOINT_DIR = fileURLToPath(new URL('../../checkpoints/flowseg-small', import.meta.url));

/** What to do when the default checkpoint is absent. */
export const MISSING_DEFAULT_CHECKPOINT_HINT =
  'the shipped flowseg-small checkpoint has not been trained yet. Train one with the training ' +
  'stages of @flowseg/flowseg-model (segmentor → alignment → joint) and save it with saveCheckpoint(model, dir) ' +
  'from @flowseg/flowseg-model/node, then pass --checkpoint <dir>';
