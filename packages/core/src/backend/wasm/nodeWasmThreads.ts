import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** Outcome of {@link startNodeWasmThreads}. */
export interface WasmThreadsOutcome {
  /** Threads the wasm backend's XNNPACK pool runs with (1 = single-threaded). */
  readonly threads: number;
  /** Why it runs with that many (what failed when it fell back to one). */
  readonly reason: string;
}

interface EmscriptenWorker {
  unref(): void;
}
interface PThreadPool {
  unusedWorkers: EmscriptenWorker[];
  runningWorkers: EmscriptenWorker[];
  allocateUnusedWorker(): void;
}

async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

/**
 * Start tfjs-backend-wasm's multi-threaded build in Node, which TF.js disables there: its
 * pthread workers are `blob:` URLs (Node's `Worker` refuses them, `ERR_WORKER_PATH`) and its
 * thread pool is capped at half the logical cores. While the backend starts, this:
 *  1. records the text of each script Blob it creates and serves it from a temp file path
 *     (`URL.createObjectURL`), and points the worker's own `importScripts` at the package's
 *     self-contained threaded module instead of a blob;
 *  2. reports twice the cores to the module's core count, lifting the half-the-cores cap;
 *  3. marks the pthread workers `unref()` so they never keep the process alive.
 * Everything patched is restored before returning. On any failure the backend is started
 * single-threaded and the reason returned. Must run before the wasm backend first starts
 * (or while it holds no tensors: it is then restarted).
 *
 * @param threads - requested thread count (≥ 2).
 */
export async function startNodeWasmThreads(threads: number): Promise<WasmThreadsOutcome> {
  const factory = tf.findBackendFactory('wasm');
  if (!factory) throw new Error('tfjs-backend-wasm is not registered');
  const engine = tf.engine() as unknown as { registry: Record<string, tf.KernelBackend | undefined> };
  const running = engine.registry['wasm'];
  if (running) {
    if (running.numDataIds() > 0) {
      return { threads: getThreadsCount(), reason: 'the wasm backend was already running with live tensors; left as it was' };
    }
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', factory, 2);
  }
  const { mkdtempSync, writeFileSync } = (await importOptional('node:fs')) as typeof import('node:fs');
  const { tmpdir } = (await importOptional('node:os')) as typeof import('node:os');
  const os = ((await importOptional('node:os')) as { default: typeof import('node:os') }).default;
  const { join } = (await importOptional('node:path')) as typeof import('node:path');
  const { createRequire } = (await importOptional('node:module')) as typeof import('node:module');
  const mainScript = createRequire(import.meta.url).resolve(
    '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js',
  );
  const dir = mkdtempSync(join(tmpdir(), 'flowseg-wasm-threads-'));

  const RealBlob = globalThis.Blob;
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  const texts = new WeakMap<Blob, string>();
  class RecordingBlob extends RealBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts?.every((p) => typeof p === 'string')) texts.set(this, (parts as string[]).join(''));
    }
  }
  let scripts = 0;
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob | MediaSource): string => {
    const text = obj instanceof RealBlob ? texts.get(obj) : undefined;
    if (text === undefined) return realCreateObjectURL(obj as Blob);
    const path = join(dir, `script-${scripts++}.cjs`);
    // Inside the worker, the main script arrives as a Blob again: serve the package's file.
    const shim = `URL.createObjectURL=function(){return ${JSON.stringify(mainScript)}};URL.revokeObjectURL=function(){};`;
    writeFileSync(path, shim + text);
    return path;
  };
  os.cpus = () => {
    const cpus = realCpus.call(os);
    return [...cpus, ...cpus];
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  let failure: string | null = null;
  try {
    if (!(await tf.setBackend('wasm'))) failure = 'the threaded wasm module did not start';
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreateObjectURL;
    os.cpus = realCpus;
  }
  if (!failure) {
    const backend = tf.backend() as unknown as { wasm: { PThread?: PThreadPool } };
    const pool = backend.wasm.PThread;
    if (pool) {
      for (const w of [...pool.unusedWorkers, ...pool.runningWorkers]) w.unref();
      const allocate = pool.allocateUnusedWorker.bind(pool);
      pool.allocateUnusedWorker = () => {
        allocate();
        pool.unusedWorkers[pool.unusedWorkers.length - 1]?.unref();
      };
    }
    const got = getThreadsCount();
    if (got >= 2) return { threads: got, reason: `XNNPACK thread pool started with ${got} threads` };
    failure = `the thread pool reported ${got} thread(s)`;
  }
  // Fall back: a fresh single-threaded backend.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (engine.registry['wasm']) {
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', factory, 2);
  }
  await tf.setBackend('wasm');
  return { threads: 1, reason: `threaded wasm unavailable (${failure}); running single-threaded` };
}
