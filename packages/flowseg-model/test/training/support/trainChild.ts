// Child process of the kill test: trains the tiny model with frequent checkpoints and prints
// every step, so the parent can SIGKILL it mid-run.
import { selectBackend } from '@flowseg/core';
import { refsegExamples } from '../../../src/index.js';
import { trainStage, ProgressLine } from '../../../src/node/index.js';
import { tinyModel } from '../../support/tinyFlowSeg.js';

const dir = process.argv[2]!;
await selectBackend('wasm', { wasmThreads: 1 });
const model = tinyModel();
await trainStage(model, {
  stage: 'joint',
  steps: 8,
  batchSize: 2,
  data: (s, n) => refsegExamples('train', { attribute: 1, multi: 1, empty: 1 }, s, n, { width: 32, height: 32 }),
  checkpointEvery: 2,
  checkpointDir: dir,
  progress: new ProgressLine('joint', { every: 1, write: (t) => process.stdout.write(t) }),
});
