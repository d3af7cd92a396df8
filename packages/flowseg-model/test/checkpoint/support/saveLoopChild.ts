// Child process of the kill-during-save test: saves a checkpoint over `dir` again and again
// (alternating two models), printing a line before each save, until the parent SIGKILLs it.
import { selectBackend } from '@flowseg/core';
import { saveCheckpoint } from '../../../src/node/index.js';
import { tinyModel } from '../../support/tinyFlowSeg.js';

const dir = process.argv[2]!;
await selectBackend('wasm', { wasmThreads: 1 });
const models = [tinyModel({ seed: 7 }), tinyModel({ seed: 8 })];
for (let i = 0; ; i++) {
  process.stdout.write(`save ${i}\n`);
  await saveCheckpoint(models[i % 2]!, dir, { metadata: { save: i } });
}
