import * as tf from '@tensorflow/tfjs';
import { currentRateClock, tensorsOf } from './timing.js';

/** What one profiled call of a component did, kernel by kernel (`tf.profile`). */
export interface KernelProfile {
  /** FLOPs of the matrix products and convolutions that actually ran (a multiply–add = 2). */
  readonly countedFlops: number;
  /** Kernels run. */
  readonly kernels: number;
  /** Peak bytes of tensor memory during the call above what was allocated before it (from `tf.profile`). */
  readonly peakBytes: number;
  /** Tensors left behind by the call after its outputs were disposed (must be 0). */
  readonly leakedTensors: number;
  /** Kernel time per kernel name, summed over the profiled calls, largest first (only the shares mean something). */
  readonly kernelMs: ReadonlyArray<readonly [string, number]>;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * FLOPs of one kernel from its shapes: matrix products (any rank, any transpose flags:
 * the contracted size is `|a| / (batch_a · M)`) and convolutions (`2 · |out| · kh · kw · cin`).
 * Everything else counts 0, like the analytic counts.
 */
export function kernelFlops(name: string, inputShapes: ReadonlyArray<readonly number[]>, outputShapes: ReadonlyArray<readonly number[]>): number {
  const out = outputShapes[0];
  if (!out) return 0;
  switch (name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = inputShapes[0]!;
      const m = out[out.length - 2]!;
      const batchA = size(a.slice(0, -2));
      const k = size(a) / (batchA * m);
      return 2 * size(out) * k;
    }
    case 'Conv2D':
    case 'FusedConv2D': {
      const f = inputShapes[1]!;
      return 2 * size(out) * f[0]! * f[1]! * f[2]!;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const f = inputShapes[1]!;
      return 2 * size(out) * f[0]! * f[1]!;
    }
    default:
      return 0;
  }
}

/**
 * Entries of `tf.profile` that wrap kernels listed on their own too: custom-gradient scopes
 * ("unnamed scope") and ops run as named scopes (`fusedMatMul__op` around `_FusedMatMul`).
 */
const isWrapperScope = (name: string): boolean => name === 'unnamed scope' || name.endsWith('__op');

/** The backend's kernel timer, measuring process CPU time instead of wall time while installed. */
function withCpuKernelTimer<T>(body: () => Promise<T>): Promise<T> {
  const backend = tf.backend() as unknown as { time?: (f: () => void) => Promise<{ kernelMs: number }> };
  const original = backend.time;
  if (currentRateClock() !== 'cpu' || typeof original !== 'function' || Object.prototype.hasOwnProperty.call(backend, 'time')) {
    return body();
  }
  backend.time = async (f: () => void) => {
    const c0 = process.cpuUsage();
    f();
    const used = process.cpuUsage(c0);
    return { kernelMs: (used.user + used.system) / 1000 };
  };
  return body().finally(() => {
    delete (backend as { time?: unknown }).time;
  });
}

/**
 * Run `fn` `calls` times under `tf.profile` (outputs disposed) and report counted FLOPs, peak
 * tensor bytes and leaked tensors of one call, and the kernel-time breakdown summed over all
 * calls (process CPU time per kernel when the rate clock is CPU time). Call it after a
 * warm-up call (first calls may build caches that outlive them by design).
 */
export async function profileCall(fn: () => unknown, calls = 1): Promise<KernelProfile> {
  return withCpuKernelTimer(async () => {
    const byName = new Map<string, number>();
    let first: Omit<KernelProfile, 'kernelMs'> | null = null;
    for (let i = 0; i < calls; i++) {
      const before = tf.memory().numTensors;
      const bytesBefore = tf.memory().numBytes;
      let result: unknown = null;
      const info = await tf.profile(() => {
        result = fn();
        // tf.profile wants tensors back; the container is kept in `result` and disposed below.
        return [];
      });
      tf.dispose(tensorsOf(result));
      let countedFlops = 0;
      for (const k of info.kernels) {
        countedFlops += kernelFlops(k.name, k.inputShapes as number[][], k.outputShapes as number[][]);
        if (isWrapperScope(k.name)) continue;
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
      }
      first ??= {
        countedFlops,
        kernels: info.kernels.filter((k) => !isWrapperScope(k.name)).length,
        peakBytes: Math.max(0, info.peakBytes - bytesBefore),
        leakedTensors: tf.memory().numTensors - before,
      };
    }
    return { ...first!, kernelMs: [...byName].sort((a, b) => b[1] - a[1]) };
  });
}
