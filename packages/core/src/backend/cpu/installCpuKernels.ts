import * as tf from '@tensorflow/tfjs';
import { resizeNearestNeighborGrad } from './resizeNearestNeighborGrad.js';

/** Kernels FlowSeg replaces on the cpu backend, by name. */
export const CPU_KERNEL_PATCHES = ['ResizeNearestNeighborGrad'] as const;

let installed = false;

/**
 * Install FlowSeg's cpu kernel fixes (idempotent; runs when `@flowseg/core` is imported): a
 * correct `ResizeNearestNeighborGrad` (tfjs-backend-cpu 4.22's gives wrong gradients for batch
 * items after the first, found when the FPN pixel decoder's gradients on cpu disagreed with wasm
 * and WebGPU). Other backends are untouched.
 *
 * @returns the kernel names patched.
 */
export function installCpuKernels(): readonly string[] {
  if (installed) return CPU_KERNEL_PATCHES;
  if (tf.getKernel('ResizeNearestNeighborGrad', 'cpu')) tf.unregisterKernel('ResizeNearestNeighborGrad', 'cpu');
  tf.registerKernel({
    kernelName: 'ResizeNearestNeighborGrad',
    backendName: 'cpu',
    kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
  });
  installed = true;
  return CPU_KERNEL_PATCHES;
}
