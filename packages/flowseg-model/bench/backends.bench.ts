/**
 * `npx tsx packages/flowseg-model/bench/backends.bench.ts [--preset small|paper] [--reps N] [--only a,b]`:
 * latency of the full model's forward pass (`FlowSegModel.forward` on one 64×64 scene with a
 * teacher-forced one-target answer, until the selected mask logits are read back) on every
 * backend available here, in one run:
 *  - `cpu`: TF.js's pure-JS backend;
 *  - `wasm-1thread`: tfjs-backend-wasm, single-threaded;
 *  - `wasm-threads`: tfjs-backend-wasm with one thread per core (as `selectBackend('wasm')` starts it);
 *  - `webgpu`: tfjs-backend-webgpu through Dawn for Node (`webgpu` package). Without a GPU it runs on
 *    the SwiftShader Vulkan ICD from Debian's chromium package, a CPU emulation (said in the table).
 * Each backend runs in its own child process (wasm's thread count and Dawn are fixed per process).
 * Prints a table with each backend's median relative to wasm-1thread measured in the same run,
 * and, as the last line, one JSON object keyed by backend name.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendSelection } from '@flowseg/core';
import { VOCABULARY_WORDS, generateSample } from '@flowseg/refseg-synth';
import { CONFIG_PRESETS, FlowSegModel, WordTokenizer, disposeFlowSegOutputs } from '../src/index.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const BACKENDS = ['cpu', 'wasm-1thread', 'wasm-threads', 'webgpu'] as const;
type BenchBackend = (typeof BACKENDS)[number];

/** What one child measured. */
interface Measurement {
  readonly medianMs: number;
  readonly minMs: number;
  readonly firstMs: number;
  readonly reps: number;
  readonly device: string | null;
  readonly barEvaluation: string;
}

/** One backend's entry in the final JSON. */
type Entry = (Measurement & { readonly overWasm1thread: number | null }) | { readonly skipped: string };

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function start(backend: BenchBackend): Promise<BackendSelection> {
  switch (backend) {
    case 'cpu':
      return selectBackend('cpu');
    case 'wasm-1thread':
      return selectBackend('wasm', { wasmThreads: 1 });
    case 'wasm-threads':
      return selectBackend('wasm', { wasmThreads: availableParallelism() });
    case 'webgpu':
      return selectBackend('webgpu', existsSync(SWIFTSHADER_ICD) ? { vulkanIcd: SWIFTSHADER_ICD } : {});
  }
}

/** Child: start one backend, time the forward pass, print one JSON line. */
async function child(backend: BenchBackend, preset: keyof typeof CONFIG_PRESETS, reps: number): Promise<Measurement> {
  const selection = await start(backend);
  const config = CONFIG_PRESETS[preset];
  const words = [...VOCABULARY_WORDS, ...['describe', 'image'].filter((w) => !VOCABULARY_WORDS.includes(w))];
  const model = new FlowSegModel({ config, tokenizer: new WordTokenizer(words) });
  const { height, width } = config.image;
  const sample = generateSample('test', 'attribute', 3, { width, height });
  const images = tf.tensor4d(Float32Array.from(sample.scene.image, (v) => v / 255), [1, height, width, 3]);
  const tok = model.tokenizer;
  const tokenIds = [[...tok.encode(sample.prompt, { addBos: true }), ...tok.encode(sample.answer, { addEos: true })]];
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const out = model.forward({ images, tokenIds, auxOutputs: false });
    await out.selectedLogits.data();
    const ms = performance.now() - t0;
    disposeFlowSegOutputs(out);
    return ms;
  };
  const firstMs = await once(); // includes shader compilation on webgpu
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return {
    medianMs: times[Math.floor(times.length / 2)]!,
    minMs: times[0]!,
    firstMs,
    reps,
    device: selection.device ?? null,
    barEvaluation: model.bar?.settings.evaluation ?? 'off',
  };
}

async function main(): Promise<void> {
  const preset = (argValue('--preset') ?? 'small') as keyof typeof CONFIG_PRESETS;
  if (!(preset in CONFIG_PRESETS)) throw new Error(`--preset: expected ${Object.keys(CONFIG_PRESETS).join(' or ')}`);
  const childBackend = argValue('--child') as BenchBackend | undefined;
  if (childBackend) {
    const reps = Number(argValue('--reps') ?? '5');
    console.log(JSON.stringify(await child(childBackend, preset, reps)));
    return;
  }
  const only = argValue('--only')?.split(',') ?? [...BACKENDS];
  const unknown = only.filter((b) => !(BACKENDS as readonly string[]).includes(b));
  if (unknown.length > 0) throw new Error(`--only: unknown backend(s) ${unknown.join(', ')}; expected ${BACKENDS.join(', ')}`);
  const defaultReps: Record<BenchBackend, number> = { cpu: 3, 'wasm-1thread': 9, 'wasm-threads': 9, webgpu: 3 };
  const loadBefore = loadavg()[0]!;
  const entries: Partial<Record<BenchBackend, Entry>> = {};
  for (const backend of BACKENDS.filter((b) => only.includes(b))) {
    const reps = argValue('--reps') ?? String(defaultReps[backend]);
    const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', backend, '--preset', preset, '--reps', reps];
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 900_000, maxBuffer: 16 << 20 });
    const last = run.stdout?.trim().split('\n').at(-1) ?? '';
    if (run.status === 0 && last.startsWith('{')) {
      entries[backend] = { ...(JSON.parse(last) as Measurement), overWasm1thread: null };
    } else {
      const why = (run.stderr || run.stdout || String(run.error ?? 'no output')).trim().split('\n').filter(Boolean).at(-1) ?? '';
      entries[backend] = { skipped: why.slice(0, 300) };
    }
  }
  const base = entries['wasm-1thread'];
  const baseMs = base && 'medianMs' in base ? base.medianMs : null;
  for (const [name, e] of Object.entries(entries)) {
    if (e && 'medianMs' in e && baseMs) entries[name as BenchBackend] = { ...e, overWasm1thread: e.medianMs / baseMs };
  }
  console.log(
    `FlowSegModel.forward, preset ${preset}, batch 1, one <SEG> target, until the selected mask logits are read back; ` +
      `load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`,
  );
  console.table(
    Object.entries(entries).map(([backend, e]) =>
      e && 'medianMs' in e
        ? {
            backend,
            device: e.device ?? '',
            'median ms': e.medianMs.toFixed(1),
            'min ms': e.minMs.toFixed(1),
            'first ms': e.firstMs.toFixed(0),
            reps: e.reps,
            '× wasm-1thread': e.overWasm1thread === null ? '-' : e.overWasm1thread.toFixed(2),
            BAR: e.barEvaluation,
          }
        : { backend, device: `skipped: ${(e as { skipped: string }).skipped}` },
    ),
  );
  const webgpu = entries.webgpu;
  if (webgpu && 'device' in webgpu && /swiftshader/i.test(webgpu.device ?? '')) {
    console.log('webgpu on "google swiftshader" is a CPU emulation of a GPU: it shows that the path works, not GPU speed.');
  }
  console.log(JSON.stringify(entries));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`backends bench failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
