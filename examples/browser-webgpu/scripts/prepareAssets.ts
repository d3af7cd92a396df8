/**
 * Build step of the browser example: writes `public-generated/` (git-ignored), which Vite copies
 * into `dist/` as it is:
 *  - `tfjs-wasm/*.wasm`: tfjs-backend-wasm's binaries, so the wasm fallback never reaches a CDN;
 *  - `checkpoints/flowseg-small/`: the trained checkpoint shipped at
 *    `packages/flowseg-model/checkpoints/flowseg-small/` when it exists, otherwise a random-weight
 *    checkpoint of the `small` preset (seeded, so every build writes the same bytes);
 *  - `checkpoints/manifest.json`: which of the two the page serves.
 *
 * Run: `npm run prepare-assets -w @flowseg/example-browser-webgpu` (the `build` script runs it).
 */
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@flowseg/core';
import { writeDirectoryAtomic, writeFileAtomic } from '@flowseg/core/node';
import { CHECKPOINT_FILES, FlowSegModel, SMALL_CONFIG, WordTokenizer, serializeCheckpoint } from '@flowseg/flowseg-model';
import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';
import type { CheckpointManifest } from '../src/checkpointManifest.js';

const exampleDir = fileURLToPath(new URL('../', import.meta.url));
const outDir = join(exampleDir, 'public-generated');
const shippedDir = join(exampleDir, '../../packages/flowseg-model/checkpoints/flowseg-small');
const checkpointName = 'flowseg-small';

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Copy tfjs-backend-wasm's `.wasm` files (plain, SIMD, threaded SIMD). */
async function copyWasmBinaries(): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  const names = (await readdir(distDir)).filter((n) => n.endsWith('.wasm'));
  const target = join(outDir, 'tfjs-wasm');
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  for (const name of names) await copyFile(join(distDir, name), join(target, name));
  return names;
}

/** The random-weight `small` checkpoint: the tokenizer the training stages use, seed 0 weights. */
async function randomCheckpoint(): Promise<Map<string, Uint8Array | string>> {
  await selectBackend('wasm', { wasmThreads: 1 });
  const words = [...VOCABULARY_WORDS, ...['describe', 'image'].filter((w) => !VOCABULARY_WORDS.includes(w))];
  const model = new FlowSegModel({ config: SMALL_CONFIG, tokenizer: new WordTokenizer(words) });
  try {
    const { config, weights } = serializeCheckpoint(model, {
      weights: 'random',
      note: `untrained: random weights of the small preset (seed ${SMALL_CONFIG.seed}), written by examples/browser-webgpu/scripts/prepareAssets.ts because ${shippedDir} does not exist`,
    });
    return new Map<string, Uint8Array | string>([
      [CHECKPOINT_FILES.config, config],
      [CHECKPOINT_FILES.weights, weights],
    ]);
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const wasm = await copyWasmBinaries();
  const shipped =
    (await isFile(join(shippedDir, CHECKPOINT_FILES.config))) && (await isFile(join(shippedDir, CHECKPOINT_FILES.weights)));
  const files = shipped
    ? new Map<string, Uint8Array | string>([
        [CHECKPOINT_FILES.config, await readFile(join(shippedDir, CHECKPOINT_FILES.config))],
        [CHECKPOINT_FILES.weights, await readFile(join(shippedDir, CHECKPOINT_FILES.weights))],
      ])
    : await randomCheckpoint();
  await writeDirectoryAtomic(join(outDir, 'checkpoints', checkpointName), files);
  const manifest: CheckpointManifest = {
    default: checkpointName,
    checkpoints: [{ name: checkpointName, url: `checkpoints/${checkpointName}/`, trained: shipped }],
  };
  await writeFileAtomic(join(outDir, 'checkpoints', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const bytes = [...files.values()].reduce((n, v) => n + (typeof v === 'string' ? v.length : v.byteLength), 0);
  console.log(
    `prepare-assets: ${wasm.length} wasm binaries → public-generated/tfjs-wasm/; ` +
      `${shipped ? 'shipped (trained)' : 'random-weight'} ${checkpointName} checkpoint (${(bytes / 1e6).toFixed(1)} MB) → public-generated/checkpoints/`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`prepare-assets failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
