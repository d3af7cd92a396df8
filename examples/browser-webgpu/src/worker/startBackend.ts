// Imported here, not at run time by name: a bundle cannot resolve a bare `import()` later.
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend, type BackendSelection } from '@flowseg/core';
import type { BackendRequest } from '../protocol.js';

/**
 * Start the requested backend inside the worker. The wasm binaries are served by the page
 * itself (copied at build time), never fetched from a CDN. `auto` tries webgpu, webgl, wasm,
 * cpu in that order and reports what it skipped and why.
 */
export async function startBackend(request: BackendRequest, wasmUrl: string): Promise<BackendSelection> {
  setWasmPaths(wasmUrl.endsWith('/') ? wasmUrl : `${wasmUrl}/`);
  return selectBackend(request, { allowSoftwareGpu: true });
}
