/**
 * WebGPU for Node through the optional `webgpu` package (Google's Dawn, prebuilt inside the
 * npm package). It gives Node a `navigator.gpu`, after which tfjs-backend-webgpu runs as in a
 * browser. On a machine with a GPU Dawn uses its Vulkan driver; without one it needs a software
 * Vulkan ICD (e.g. the SwiftShader ICD shipped with Chromium, chosen with `VK_ICD_FILENAMES`).
 */

import { isSoftwareAdapterName } from './webGpuSoftwareTuning.js';

/** What {@link ensureNodeWebGpu} found. */
export interface NodeWebGpuAdapter {
  /** Adapter vendor as reported by Dawn (may be empty). */
  readonly vendor: string;
  /** Adapter architecture (e.g. `swiftshader`; may be empty). */
  readonly architecture: string;
  /** Adapter description (may be empty). */
  readonly description: string;
  /** True for CPU-emulated adapters (SwiftShader, lavapipe, or Dawn's fallback flag). */
  readonly software: boolean;
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null>;
}

/** The `navigator.gpu` this module installed, and the ICD it was created with. */
let installed: { gpu: GpuLike; icd: string | undefined } | null = null;

async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

async function createNodeGpu(vulkanIcd: string | undefined): Promise<GpuLike> {
  // The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates its instance.
  if (vulkanIcd) process.env['VK_ICD_FILENAMES'] = vulkanIcd;
  // Dawn keeps per-user state in XDG_RUNTIME_DIR; headless containers often lack one.
  if (!process.env['XDG_RUNTIME_DIR']) {
    const { tmpdir } = (await importOptional('node:os')) as typeof import('node:os');
    process.env['XDG_RUNTIME_DIR'] = tmpdir();
  }
  let mod: { create(options: string[]): GpuLike; globals: object };
  try {
    mod = (await importOptional('webgpu')) as typeof mod;
  } catch (e) {
    throw new Error(
      `the optional package 'webgpu' (Dawn for Node) is not installed: npm install webgpu — ${(e as Error).message.split('\n')[0]}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const g = globalThis as { navigator?: object };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
  installed = { gpu, icd: vulkanIcd ?? process.env['VK_ICD_FILENAMES'] };
  return gpu;
}

/**
 * Make `navigator.gpu` available in this Node process and return its adapter. Reuses an
 * existing `navigator.gpu`; a Dawn instance this function created without finding an adapter
 * is recreated when a (different) `vulkanIcd` is passed later.
 *
 * @param vulkanIcd - optional path of a Vulkan ICD json (sets `VK_ICD_FILENAMES` for Dawn).
 * @throws Error saying why (package missing, no adapter).
 */
export async function ensureNodeWebGpu(vulkanIcd?: string): Promise<NodeWebGpuAdapter> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  let gpu: GpuLike;
  if (nav?.gpu && (!installed || nav.gpu !== installed.gpu)) gpu = nav.gpu;
  else if (installed && (vulkanIcd === undefined || vulkanIcd === installed.icd)) gpu = installed.gpu;
  else gpu = await createNodeGpu(vulkanIcd);
  let adapter = await gpu.requestAdapter();
  if (!adapter && installed?.gpu === gpu && vulkanIcd && vulkanIcd !== installed.icd) {
    gpu = await createNodeGpu(vulkanIcd);
    adapter = await gpu.requestAdapter();
  }
  if (!adapter) {
    throw new Error(
      'Dawn found no WebGPU adapter (no usable Vulkan driver). With an NVIDIA GPU install libvulkan1 and ' +
        'libglvnd0 (NVIDIA\'s Vulkan driver, libGLX_nvidia.so.0, loads through libglvnd; in containers also set ' +
        'VK_DRIVER_FILES to its nvidia_icd.json); on a machine without a GPU install libvulkan1 and point ' +
        'VK_ICD_FILENAMES at a software ICD such as /usr/lib/chromium/vk_swiftshader_icd.json',
    );
  }
  const info = (adapter.info ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const architecture = str('architecture');
  const description = str('description');
  const software = adapter.isFallbackAdapter === true || isSoftwareAdapterName(`${architecture} ${description} ${str('device')}`);
  return { vendor: str('vendor'), architecture, description, software };
}
