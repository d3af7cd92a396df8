import { FlowSegError, isNode } from '@flowseg/core';
import type { OnnxTypedArray } from '../graph/tensorData.js';

/** The part of an ONNX Runtime `Tensor` FlowSeg uses (`onnxruntime-node` and `-web` share it). */
export interface OrtTensorLike {
  /** Element type name (`'float32'`, `'int64'`, `'bool'`, …). */
  readonly type: string;
  /** Elements, row-major. */
  readonly data: unknown;
  /** Shape. */
  readonly dims: readonly number[];
}

/** The part of an ONNX Runtime `InferenceSession` FlowSeg uses. */
export interface OrtSessionLike {
  /** Graph input names. */
  readonly inputNames: readonly string[];
  /** Graph output names. */
  readonly outputNames: readonly string[];
  /** Run with named feeds; `fetches` selects outputs. */
  run(feeds: Record<string, OrtTensorLike>, fetches?: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  /** Free the native session. */
  release(): Promise<void>;
}

/** The part of the `onnxruntime-node` / `onnxruntime-web` module FlowSeg uses. */
export interface OnnxRuntimeModule {
  /** Session factory. */
  readonly InferenceSession: {
    create(model: Uint8Array | string, options?: Record<string, unknown>): Promise<OrtSessionLike>;
  };
  /** Tensor constructor. */
  readonly Tensor: new (type: string, data: OnnxTypedArray, dims: readonly number[]) => OrtTensorLike;
  /** Global settings (`env.wasm.numThreads` for onnxruntime-web). */
  readonly env?: { readonly wasm?: { numThreads?: number } };
}

/** Which ONNX Runtime package to use: `'node'` (native, CPU) or `'web'` (WebAssembly/WebGPU). */
export type OnnxRuntimeName = 'node' | 'web';

/** The optional peer dependency could not be imported (not installed, or not ONNX Runtime). */
export class OnnxRuntimeUnavailableError extends FlowSegError {}

const PACKAGES: Readonly<Record<OnnxRuntimeName, string>> = { node: 'onnxruntime-node', web: 'onnxruntime-web' };
const INSTALL_HINT: Readonly<Record<OnnxRuntimeName, string>> = {
  node: 'install onnxruntime-node (npm install --ignore-scripts is enough; its install script downloads extras)',
  web: 'install onnxruntime-web',
};

const cache = new Map<string, Promise<OnnxRuntimeModule>>();

/** The runtime used when none is named: `'node'` under Node.js, `'web'` elsewhere. */
export function defaultOnnxRuntime(): OnnxRuntimeName {
  return isNode() ? 'node' : 'web';
}

function asRuntime(mod: unknown): OnnxRuntimeModule | null {
  for (const m of [mod, (mod as { default?: unknown } | null)?.default]) {
    const c = m as Partial<OnnxRuntimeModule> | null | undefined;
    if (c && typeof c.InferenceSession?.create === 'function' && typeof c.Tensor === 'function') return c as OnnxRuntimeModule;
  }
  return null;
}

/**
 * Import ONNX Runtime for `runtime` (an optional peer dependency), once per specifier.
 * `specifier` overrides the package name (e.g. `'onnxruntime-web/webgpu'`). Throws
 * {@link OnnxRuntimeUnavailableError} saying what to install when the import fails.
 */
export async function loadOnnxRuntime(runtime: OnnxRuntimeName = defaultOnnxRuntime(), specifier?: string): Promise<OnnxRuntimeModule> {
  const spec = specifier ?? PACKAGES[runtime];
  let pending = cache.get(spec);
  if (!pending) {
    pending = (async () => {
      let mod: unknown;
      try {
        // Through a variable so bundlers leave the optional peer alone.
        mod = await import(/* @vite-ignore */ spec);
      } catch (e) {
        const reason = (e as Error).message.split('\n')[0];
        throw new OnnxRuntimeUnavailableError(`${PACKAGES[runtime]} could not be loaded from "${spec}" (${reason}): ${INSTALL_HINT[runtime]}`, 'runtime');
      }
      const ort = asRuntime(mod);
      if (!ort) {
        throw new OnnxRuntimeUnavailableError(
          `"${spec}" loaded but is not ONNX Runtime (no InferenceSession/Tensor): ${INSTALL_HINT[runtime]}`,
          'runtime',
        );
      }
      return ort;
    })();
    cache.set(spec, pending);
    pending.catch(() => cache.delete(spec));
  }
  return pending;
}
