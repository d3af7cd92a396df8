import * as tf from '@tensorflow/tfjs';
import { ValueError } from '../errors/FlowSegError.js';
import { ensureNodeWebGpu } from './nodeWebGpu.js';
import { guardNodeWebGpuReadSync } from './webGpuSyncRead.js';
import { isSoftwareAdapterName, tuneWebGpuForSoftwareAdapter } from './webGpuSoftwareTuning.js';
import { startNodeWasmThreads } from './wasm/nodeWasmThreads.js';

/** Backends FlowSeg knows how to start. */
export type BackendName = 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Every backend name {@link selectBackend} accepts besides `'auto'`. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** One backend that was tried and why it was not used. */
export interface BackendAttempt {
  /** Backend name. */
  readonly backend: BackendName;
  /** Why it could not be started. */
  readonly error: string;
}

/** What {@link selectBackend} set, and why. */
export interface BackendSelection {
  /** The backend now active (`tf.getBackend()`). */
  readonly backend: BackendName;
  /** One sentence saying why this backend was chosen. */
  readonly reason: string;
  /** Backends tried before it, with the reason each failed. */
  readonly skipped: readonly BackendAttempt[];
  /** The device behind a GPU backend (e.g. `google swiftshader`), or `wasm ×2 threads`. */
  readonly device?: string;
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /**
   * Let `'auto'` pick a CPU-emulated WebGPU adapter (SwiftShader, lavapipe). Off by default:
   * such adapters run FlowSeg slower than wasm. A named `'webgpu'` request always accepts them.
   */
  readonly allowSoftwareGpu?: boolean;
  /**
   * Node only: Vulkan ICD json for Dawn, used when `VK_ICD_FILENAMES` is unset (e.g.
   * `/usr/lib/chromium/vk_swiftshader_icd.json` on a machine without a GPU).
   */
  readonly vulkanIcd?: string;
  /**
   * Node only: threads for the wasm backend (default: the machine's logical cores; 1 keeps
   * TF.js's single-threaded build). Takes effect only when wasm starts for the first time in
   * the process (or holds no tensors); a failure falls back to one thread, said in `reason`.
   */
  readonly wasmThreads?: number;
}

/** True when running under Node.js (not a browser or worker). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

// Specifiers go through a variable so bundlers do not try to resolve optional packages.
async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

/**
 * Make sure the package that registers `backend` has been loaded. A backend already registered
 * (e.g. a bundle imported `@tensorflow/tfjs-backend-webgpu` itself) is not imported again: in a
 * browser bundle a runtime `import()` of a bare package name cannot resolve.
 */
async function ensureBackendModule(backend: BackendName, specifier: string): Promise<void> {
  if (tf.findBackendFactory(backend)) return;
  try {
    await importOptional(specifier);
  } catch (e) {
    const hint = isNode() ? `npm install ${specifier}` : `import '${specifier}' in your bundle before calling selectBackend`;
    throw new Error(`${specifier} could not be loaded (${hint}) — ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Starts a backend's prerequisites; returns a device description when it has one. */
type Loader = (options: SelectBackendOptions & { auto: boolean }) => Promise<string | void>;

/** Hooks run after a backend becomes active (e.g. kernel replacements for wasm). */
const afterStart = new Map<BackendName, Array<() => void>>();

/**
 * Register a function to run whenever {@link selectBackend} activates `backend`
 * (idempotence is the hook's job). Used by core to install fast kernels.
 */
export function onBackendStarted(backend: BackendName, hook: () => void): void {
  const list = afterStart.get(backend) ?? [];
  list.push(hook);
  afterStart.set(backend, list);
}

const loaders: Record<BackendName, Loader> = {
  async tensorflow() {
    // Optional peers: tfjs-node-gpu first (CUDA), then tfjs-node (CPU, libtensorflow).
    const errors: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await importOptional(pkg);
        return;
      } catch (e) {
        errors.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(
      `neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded (they are optional ` +
        `peer dependencies; their installer downloads libtensorflow) — ${errors.join('; ')}`,
    );
  },
  async webgpu(options) {
    let device: string;
    let software: boolean;
    if (isNode()) {
      const adapter = await ensureNodeWebGpu(options.vulkanIcd);
      device = `${adapter.vendor} ${adapter.architecture}`.trim() || 'unknown adapter';
      software = adapter.software;
      if (adapter.software && options.auto && !options.allowSoftwareGpu) {
        throw new Error(`only a CPU-emulated adapter (${device}) is available; it is slower than wasm`);
      }
    } else {
      type BrowserAdapter = { info?: Record<string, unknown>; isFallbackAdapter?: boolean };
      const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<BrowserAdapter | null> } } | undefined)?.gpu;
      if (!gpu) throw new Error('this browser has no navigator.gpu');
      const adapter = await gpu.requestAdapter();
      if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no adapter');
      const info = (key: string) => String(adapter.info?.[key] ?? '');
      device = `${info('vendor')} ${info('architecture')}`.trim() || 'unknown adapter';
      software = adapter.isFallbackAdapter === true || isSoftwareAdapterName(`${device} ${info('description')} ${info('device')}`);
    }
    await ensureBackendModule('webgpu', '@tensorflow/tfjs-backend-webgpu');
    if (software) tuneWebGpuForSoftwareAdapter();
    return device;
  },
  async webgl() {
    if (isNode()) throw new Error('WebGL is not available in Node');
  },
  async wasm(options) {
    await ensureBackendModule('wasm', '@tensorflow/tfjs-backend-wasm');
    if (!isNode()) return;
    const { availableParallelism } = (await importOptional('node:os')) as { availableParallelism(): number };
    const threads = options.wasmThreads ?? availableParallelism();
    if (threads === 1) return 'wasm ×1 thread';
    const outcome = await startNodeWasmThreads(threads);
    return outcome.threads > 1 ? `wasm ×${outcome.threads} threads` : `wasm ×1 thread: ${outcome.reason}`;
  },
  async cpu() {},
};

// Dawn for Node has no OffscreenCanvas, which tfjs-backend-webgpu's synchronous read needs:
// make `dataSync()` there fail with an explanation instead of a ReferenceError.
onBackendStarted('webgpu', () => {
  if (isNode()) guardNodeWebGpuReadSync();
});

function autoOrder(): BackendName[] {
  return isNode() ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

/**
 * Pick and activate a TensorFlow.js backend, saying which one and why.
 *
 * `'auto'` tries, in order — Node: `tensorflow` (when the optional peer
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` resolves), `webgpu` (through the
 * optional `webgpu` package, when Dawn finds a hardware adapter), `wasm`, `cpu`; browser:
 * `webgpu`, `webgl`, `wasm`, `cpu`. CPU-emulated GPU adapters are skipped by `'auto'` unless
 * `options.allowSoftwareGpu` is set.
 * A named backend is started or a {@link ValueError} explains why it could not be.
 *
 * @example
 * ```ts
 * const { backend, reason } = await selectBackend('auto');
 * console.log(`backend ${backend}: ${reason}`);
 * ```
 */
export async function selectBackend(
  request: 'auto' | BackendName = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  if (request !== 'auto' && !BACKEND_NAMES.includes(request)) {
    throw new ValueError(
      `request: expected 'auto' or one of ${BACKEND_NAMES.join(', ')}, received ${JSON.stringify(request)}`,
      'request',
    );
  }
  const threads = options.wasmThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new ValueError(`wasmThreads: expected a positive integer, received ${threads}`, 'wasmThreads');
  }
  const order = request === 'auto' ? autoOrder() : [request];
  const skipped: BackendAttempt[] = [];
  for (const name of order) {
    try {
      const device = (await loaders[name]({ ...options, auto: request === 'auto' })) ?? undefined;
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      for (const hook of afterStart.get(name) ?? []) hook();
      const reason =
        request === 'auto'
          ? skipped.length === 0
            ? `${name} is the first choice on this platform and started`
            : `${name} started; not used: ${skipped.map((s) => `${s.backend} (${s.error})`).join('; ')}`
          : `${name} was requested`;
      return device ? { backend: name, reason, skipped, device } : { backend: name, reason, skipped };
    } catch (e) {
      skipped.push({ backend: name, error: (e as Error).message });
    }
  }
  throw new ValueError(
    `no backend could be started: ${skipped.map((s) => `${s.backend}: ${s.error}`).join('; ')}`,
    'request',
  );
}
