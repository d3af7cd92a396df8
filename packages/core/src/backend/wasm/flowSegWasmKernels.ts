import { KERNELS_WASM_PLAIN, KERNELS_WASM_SHARED } from './generated/kernelsWasm.js';
import type { WasmBackendLike } from './wasmHeap.js';

/**
 * Core's own wasm kernels (packages/core/assembly/kernels.ts), instantiated over
 * tfjs-backend-wasm's heap. Pointers are byte offsets into that heap; sizes are elements.
 */
export interface FlowSegWasmKernels {
  /** `batch` matrices `rows × cols` of 4-byte words: `dst[g][c][r] = src[g][r][c]`. */
  transposeWords(src: number, dst: number, batch: number, rows: number, cols: number): void;
  /** `batch` matrices `rows × cols` of `inner`-word chunks: `dst[g][c][r][:] = src[g][r][c][:]`. */
  transposeChunks(src: number, dst: number, batch: number, rows: number, cols: number, inner: number): void;
  /** `out[i] = a[i·sa] op b[i·sb]` (float32 in, 0/1 bytes out), `op` a {@link WASM_COMPARE_CODES} code. */
  compareF32(op: number, out: number, a: number, sa: number, b: number, sb: number, n: number): void;
  /** Layer norm of `rows × cols` floats `s = x` (or `x + residual` when `hasResidual`) into `out`: `(s − μ)/√(σ² + ε)·γ + β` per row. */
  layerNormF32(x: number, residual: number, hasResidual: boolean, gamma: number, beta: number, out: number, rows: number, cols: number, epsilon: number): void;
}

/** The comparison codes of `compareF32`, in assembly/kernels.ts's order. */
export const WASM_COMPARE_CODES = { Less: 0, LessEqual: 1, Greater: 2, GreaterEqual: 3, Equal: 4, NotEqual: 5 } as const;

/** What the Emscripten module exposes of its memory: `wasmMemory` (threaded build, imported) or the export (plain build). */
interface EmscriptenMemoryHolder {
  readonly wasmMemory?: WebAssembly.Memory;
  readonly asm?: { readonly memory?: WebAssembly.Memory };
}

const instances = new WeakMap<WebAssembly.Memory, FlowSegWasmKernels | null>();
let enabled = true;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** Whether `memory` is a shared (threaded) wasm memory. */
function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * Instantiate the kernels over `memory` (the variant matching its sharing). Synchronous: the
 * modules are under 2 KB, well inside browsers' limit for main-thread compilation.
 * @throws when the engine rejects the module (no wasm SIMD, say).
 */
export function instantiateWasmKernels(memory: WebAssembly.Memory): FlowSegWasmKernels {
  const bytes = decodeBase64(isShared(memory) ? KERNELS_WASM_SHARED : KERNELS_WASM_PLAIN);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports as unknown as FlowSegWasmKernels;
}

/**
 * The kernels over `backend`'s heap, instantiated once per heap; `null` when they cannot run
 * there (the heap is not reachable, or the engine lacks wasm SIMD), in which case callers
 * keep their JS loops.
 */
export function wasmKernelsFor(backend: WasmBackendLike): FlowSegWasmKernels | null {
  if (!enabled) return null;
  const holder = backend.wasm as unknown as EmscriptenMemoryHolder;
  const memory = holder.wasmMemory ?? holder.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    try {
      kernels = instantiateWasmKernels(memory);
    } catch {
      kernels = null;
    }
    instances.set(memory, kernels);
  }
  return kernels;
}

/**
 * Turn core's wasm kernels off (their callers fall back to JS loops) or back on. For tests
 * and benchmarks that compare both paths.
 * @internal
 */
export function setWasmKernelsEnabled(on: boolean): void {
  enabled = on;
}
