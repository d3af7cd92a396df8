/**
 * The published packages work when installed from their tarballs, outside this workspace.
 *
 * Runs only with `FLOWSEG_PACKAGING_TEST=1` (`npm run test:packaging` at the root): it builds
 * every package, packs each one, checks the tarballs' contents and metadata, installs them with
 * `@tensorflow/tfjs` from the npm registry into a fresh project in the OS temp folder, runs an
 * ES-module program against them and type-checks a TypeScript file against their `.d.ts`.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const enabled = process.env['FLOWSEG_PACKAGING_TEST'] === '1';
if (!enabled) console.log('packaging test skipped: set FLOWSEG_PACKAGING_TEST=1 (or run npm run test:packaging) to build, pack and install every package');

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKAGES = ['core', 'llm-condition-adapter', 'mask2former-decoder', 'bsf-layer', 'bar-head', 'refseg-synth', 'flowseg-model', 'onnx'];
const CHECKPOINT_FILES = ['checkpoints/flowseg-small/config.json', 'checkpoints/flowseg-small/model.safetensors'];
const checkpointPresent = CHECKPOINT_FILES.every((f) => existsSync(join(repoRoot, 'packages/flowseg-model', f)));

interface PackageJson {
  name: string;
  version: string;
  type?: string;
  main?: string;
  types?: string;
  license?: string;
  sideEffects?: boolean;
  files?: string[];
  bin?: Record<string, string>;
  exports: Record<string, string | { types: string; import: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Packed {
  dir: string;
  manifest: PackageJson;
  tarball: string;
  files: string[];
}

/** Run a command; resolves with its output, rejects with the output's tail on a non-zero exit. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_onnxruntime_node_install: 'skip' },
      },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`))
          : resolve(stdout),
    );
  });
}

describe.skipIf(!enabled)('packaging: npm pack → npm install in a fresh project → import and type-check', () => {
  let work: string;
  const packed = new Map<string, Packed>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'flowseg-packaging-'));
    await run('npm', ['run', 'build'], repoRoot, 600_000);
    const tarballs = join(work, 'tarballs');
    await mkdir(tarballs);
    for (const name of PACKAGES) {
      const dir = join(repoRoot, 'packages', name);
      const out = await run('npm', ['pack', '--json', '--pack-destination', tarballs], dir, 120_000);
      const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
      packed.set(name, {
        dir,
        manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson,
        tarball: join(tarballs, info!.filename),
        files: info!.files.map((f) => f.path),
      });
    }
  }, 900_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('each tarball holds only dist/, README.md, LICENSE, package.json (and the shipped checkpoint)', () => {
    for (const [name, { files, dir }] of packed) {
      const allowed = (f: string) =>
        f === 'package.json' || f === 'README.md' || f === 'LICENSE' || f.startsWith('dist/') || (name === 'flowseg-model' && CHECKPOINT_FILES.includes(f));
      expect(files.filter((f) => !allowed(f)), name).toEqual([]);
      for (const f of ['README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) expect(files, `${name}: ${f}`).toContain(f);
      // No test, bench or stale build output: every module in dist/ comes from a source file.
      for (const f of files.filter((p) => p.startsWith('dist/') && p.endsWith('.js'))) {
        expect(existsSync(join(dir, 'src', f.slice('dist/'.length).replace(/\.js$/, '.ts'))), `${name}: ${f} has no source (stale build output? rebuild from a clean dist/)`).toBe(true);
      }
    }
    const model = packed.get('flowseg-model')!.files;
    for (const f of CHECKPOINT_FILES) expect(model.includes(f), `flowseg-model tarball: ${f}`).toBe(checkpointPresent);
    if (!checkpointPresent) console.log('packages/flowseg-model/checkpoints/flowseg-small is not trained yet: the tarball has no checkpoint');
  });

  it('package metadata: ESM, exports with types for every entry, tfjs as a peer dependency, sideEffects, license', () => {
    for (const [name, { manifest, files }] of packed) {
      expect(manifest.name).toBe(`@flowseg/${name}`);
      expect(manifest.type, name).toBe('module');
      expect(manifest.license, name).toBe('Apache-2.0');
      expect(typeof manifest.sideEffects, `${name}: sideEffects`).toBe('boolean');
      expect(manifest.types, name).toBe('./dist/index.d.ts');
      expect(manifest.main, name).toBe('./dist/index.js');
      expect(manifest.exports['./package.json'], name).toBe('./package.json');
      for (const [entry, target] of Object.entries(manifest.exports)) {
        if (entry === './package.json') continue;
        expect(typeof target, `${name} ${entry}`).toBe('object');
        const { types, import: js } = target as { types: string; import: string };
        expect(Object.keys(target as object)[0], `${name} ${entry}: "types" must come first`).toBe('types');
        expect(files, `${name} ${entry}`).toContain(types.replace(/^\.\//, ''));
        expect(files, `${name} ${entry}`).toContain(js.replace(/^\.\//, ''));
      }
      for (const target of Object.values(manifest.bin ?? {})) expect(files, `${name} bin`).toContain(target.replace(/^\.\//, ''));
      // TF.js is never bundled or installed as a regular dependency: one copy per program.
      const deps = Object.keys(manifest.dependencies ?? {});
      expect(deps.filter((d) => d === '@tensorflow/tfjs' || d === '@tensorflow/tfjs-core' || d === '@tensorflow/tfjs-layers'), name).toEqual([]);
      if (name === 'refseg-synth') {
        expect(manifest.sideEffects).toBe(false);
        expect(manifest.peerDependencies ?? {}).not.toHaveProperty('@tensorflow/tfjs');
      } else {
        expect(manifest.sideEffects, name).toBe(true);
        expect(manifest.peerDependencies?.['@tensorflow/tfjs'], name).toBe('^4.22.0');
        for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
          if (peer !== '@tensorflow/tfjs') expect(manifest.peerDependenciesMeta?.[peer]?.optional, `${name}: ${peer} should be an optional peer`).toBe(true);
        }
      }
      // Workspace packages depend on each other at exactly their current versions.
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (dep.startsWith('@flowseg/')) expect(range, `${name} → ${dep}`).toBe(packed.get(dep.slice('@flowseg/'.length))!.manifest.version);
      }
    }
  });

  it('installs into a fresh project outside the workspace, runs an ES-module program and type-checks against the .d.ts', async () => {
    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'flowseg-consumer', private: true, type: 'module' }, null, 2));
    const tfjsVersion = (JSON.parse(readFileSync(join(repoRoot, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')) as PackageJson).version;
    const typesNode = (JSON.parse(readFileSync(join(repoRoot, 'node_modules/@types/node/package.json'), 'utf8')) as PackageJson).version;
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...[...packed.values()].map((p) => p.tarball), `@tensorflow/tfjs@${tfjsVersion}`, `@types/node@${typesNode}`],
      app,
      600_000,
    );
    // Exactly one TF.js in the tree.
    const ls = JSON.parse(await run('npm', ['ls', '@tensorflow/tfjs-core', '--all', '--json'], app, 120_000)) as object;
    const versions = new Set([...JSON.stringify(ls).matchAll(/"@tensorflow\/tfjs-core":\{"version":"([^"]+)"/g)].map((m) => m[1]));
    expect([...versions]).toEqual([tfjsVersion]);

    await writeFile(
      join(app, 'main.js'),
      `import * as tf from '@tensorflow/tfjs';
import { selectBackend, MultiHeadAttention } from '@flowseg/core';
import { loadSafetensorsFile } from '@flowseg/core/node';
import { expectNoLeaks } from '@flowseg/core/testing';
import { BSFDecoderLayer, bsfLayerFactory } from '@flowseg/bsf-layer';
import { BoundaryAwareRefinement } from '@flowseg/bar-head';
import { LlmConditionAdapter } from '@flowseg/llm-condition-adapter';
import { Mask2FormerDecoder } from '@flowseg/mask2former-decoder';
import { generateSample } from '@flowseg/refseg-synth';
import { exportSamples } from '@flowseg/refseg-synth/node';
import { FlowSegModel, WordTokenizer, resolveFlowSegConfig, disposeFlowSegOutputs } from '@flowseg/flowseg-model';
import { loadCheckpoint } from '@flowseg/flowseg-model/node';
import { exportOnnx } from '@flowseg/onnx';
import { exportOnnxFile } from '@flowseg/onnx/node';
import { VOCABULARY_WORDS } from '@flowseg/refseg-synth';
import corePackage from '@flowseg/core/package.json' with { type: 'json' };

const selection = await selectBackend('wasm', { wasmThreads: 1 });
const layer = new BSFDecoderLayer({ hiddenDim: 32, numHeads: 4, ffnDim: 64, seed: 1 });
const bsfInputs = {
  queries: tf.randomNormal([2, 5, 32], 0, 1, 'float32', 1),
  queryPos: tf.zeros([2, 5, 32]),
  memory: tf.randomNormal([2, 16, 32], 0, 1, 'float32', 2),
  memoryPos: tf.zeros([2, 16, 32]),
  attentionMask: null,
  conditions: { conditions: tf.randomNormal([2, 3, 32], 0, 1, 'float32', 3), conditionMask: tf.tensor2d([[1, 1, 0], [1, 0, 0]]) },
};
layer.forward(bsfInputs); // builds the weights
const before = tf.memory().numTensors;
const { queries, conditions } = layer.forward(bsfInputs);
if (tf.memory().numTensors !== before + 2) throw new Error(\`BSF forward leaked: \${tf.memory().numTensors - before - 2} tensors\`);
if (typeof expectNoLeaks !== 'function') throw new Error('@flowseg/core/testing');
if (queries.shape.join() !== '2,5,32' || conditions.conditions.shape.join() !== '2,3,32') throw new Error('BSF shapes');
if (!queries.dataSync().every(Number.isFinite)) throw new Error('BSF output not finite');

const bar = new BoundaryAwareRefinement({ featureChannels: 8, seed: 0 });
const refined = bar.forward({ maskLogits: tf.randomNormal([1, 2, 16, 16], 0, 3, 'float32', 4), pixelFeatures: tf.randomNormal([1, 8, 8, 8], 0, 1, 'float32', 5) });
const decoder = new Mask2FormerDecoder({ numQueries: 4, numLayers: 3, hiddenDim: 32, numHeads: 4, ffnDim: 64, maskDim: 32, layerFactory: bsfLayerFactory({ seed: 2 }) });
const out = decoder.forward({ features: [2, 4, 8].map((s) => tf.zeros([1, s, s, 32])), maskFeatures: tf.zeros([1, 16, 16, 32]) });
const adapter = new LlmConditionAdapter({ llmDim: 16, decoderDim: 32, specialTokens: { phraseStart: 4, phraseEnd: 5, seg: 6 }, seed: 0 });
const c = adapter.forward({ tokenIds: [[1, 4, 9, 5, 6, 2]], hiddenStates: tf.randomNormal([1, 6, 16]) });
const sample = generateSample('test', 'attribute', 0);
const tokenizer = new WordTokenizer(VOCABULARY_WORDS);
const model = new FlowSegModel({ config: resolveFlowSegConfig({ decoder: { numQueries: 4, numLayers: 2 } }), tokenizer });
const fo = model.forward({ images: tf.zeros([1, 64, 64, 3]), tokenIds: [tokenizer.encode('segment <p> the red circle </p> <SEG>', { addBos: true, addEos: true })] });
const onnxBytes = exportOnnx(new MultiHeadAttention({ embedDim: 8, numHeads: 2 }), { inputs: ['query', 'key', 'value'] });
console.log(JSON.stringify({
  backend: selection.backend,
  core: corePackage.version,
  bsf: queries.shape,
  bar: refined.refinedLogits.shape,
  decoder: out.predMasks.shape,
  adapter: c.conditions.shape,
  sample: sample.prompt.length > 0,
  flowseg: fo.selectedLogits.shape,
  onnxBytes: onnxBytes.length,
  nodeEntries: [loadSafetensorsFile, exportSamples, loadCheckpoint, exportOnnxFile].every((f) => typeof f === 'function'),
}));
disposeFlowSegOutputs(fo);
`,
    );
    const printed = JSON.parse((await run(process.execPath, ['main.js'], app, 300_000)).trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(printed).toEqual({
      backend: 'wasm',
      core: packed.get('core')!.manifest.version,
      bsf: [2, 5, 32],
      bar: [1, 2, 16, 16],
      decoder: [1, 4, 16, 16],
      adapter: [1, 1, 32],
      sample: true,
      flowseg: [1, 32, 32],
      onnxBytes: expect.any(Number),
      nodeEntries: true,
    });

    // The installed bin.
    const version = await run(process.execPath, [join(app, 'node_modules/.bin/flowseg'), '--version'], app, 120_000);
    expect(version.trim()).toContain(packed.get('flowseg-model')!.manifest.version);
    if (checkpointPresent) {
      const info = await run(process.execPath, [join(app, 'node_modules/.bin/flowseg'), 'info', '--json', '--threads', '1'], app, 300_000);
      expect(info).toContain('"config"');
    }

    // Types: a strict NodeNext project against the published declarations (check.ts uses every entry point).
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: ['node'],
          strict: true, noEmit: true, skipLibCheck: true, resolveJsonModule: true, // TF.js's own .d.ts fail skipLibCheck: false
        },
        files: ['check.ts'],
      }, null, 2),
    );
    await writeFile(
      join(app, 'check.ts'),
      `import * as tf from '@tensorflow/tfjs';
import { ShapeError, selectBackend, type ConditionState, type DecoderLayerFactory } from '@flowseg/core';
import { saveLayerWeightsFile } from '@flowseg/core/node';
import { expectNoLeaks } from '@flowseg/core/testing';
import { BSFDecoderLayer, bsfLayerFactory } from '@flowseg/bsf-layer';
import { BoundaryAwareRefinement } from '@flowseg/bar-head';
import { LlmConditionAdapter, parseSpecialTokens } from '@flowseg/llm-condition-adapter';
import { Mask2FormerDecoder } from '@flowseg/mask2former-decoder';
import { generateSample, type RefSegSample } from '@flowseg/refseg-synth';
import { exportSamples } from '@flowseg/refseg-synth/node';
import { FlowSegModel, resolveFlowSegConfig, segment, type FlowSegConfig, type FlowSegOutputs } from '@flowseg/flowseg-model';
import { loadCheckpoint, trainStage } from '@flowseg/flowseg-model/node';
import { exportOnnx, OnnxSession } from '@flowseg/onnx';
import { writeFlowSegOnnx } from '@flowseg/onnx/node';

await selectBackend('wasm');
const factory: DecoderLayerFactory = bsfLayerFactory({ seed: 1 });
const layer: BSFDecoderLayer = new BSFDecoderLayer({ hiddenDim: 32, numHeads: 4, ffnDim: 64 });
const state: ConditionState = { conditions: tf.zeros([1, 2, 32]) as tf.Tensor3D, conditionMask: tf.ones([1, 2]) as tf.Tensor2D };
const config: FlowSegConfig = resolveFlowSegConfig({ seed: 3 });
const sample: RefSegSample = generateSample('train', 'attribute', 0);
const refined: tf.Tensor4D = new BoundaryAwareRefinement({ featureChannels: 8 }).forward({ maskLogits: tf.zeros([1, 1, 8, 8]) as tf.Tensor4D, pixelFeatures: tf.zeros([1, 8, 8, 8]) as tf.Tensor4D }).refinedLogits;
const logits = (o: FlowSegOutputs): tf.Tensor3D => o.selectedLogits;
// @ts-expect-error: hiddenDim must be a number
new BSFDecoderLayer({ hiddenDim: '32', numHeads: 4, ffnDim: 64 });
void [factory, layer, state, config, sample, refined, logits, ShapeError, saveLayerWeightsFile, expectNoLeaks, LlmConditionAdapter, parseSpecialTokens,
  Mask2FormerDecoder, exportSamples, FlowSegModel, segment, loadCheckpoint, trainStage, exportOnnx, OnnxSession, writeFlowSegOnnx];
`,
    );
    await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app, 300_000);
  }, 1_200_000);
});
