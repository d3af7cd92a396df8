import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { makeFastBatchMatMul } from './fastBatchMatMul.js';
import { makeConv2DBackpropFilter, makeConv2DBackpropInput } from './conv2dBackprop.js';
import { unsortedSegmentSum } from './unsortedSegmentSum.js';
import { makeFastGatherV2 } from './fastGatherV2.js';
import { BROADCAST_COMPARE_OPS, makeBroadcastCompare } from './broadcastCompare.js';
import { makeBlockedTranspose } from './blockedTranspose.js';
import { FUSED_ADD_LAYER_NORM, FUSED_LAYER_NORM, fusedLayerNormWasm } from './layerNormKernel.js';
import type { KernelArgs, TensorInfo } from './wasmHeap.js';

type AnyKernel = (args: KernelArgs<never>) => TensorInfo;

let installed = false;
/** The stock configs our kernels replaced (`undefined`: wasm had none), to undo the patch. */
const stock = new Map<string, tf.KernelConfig | undefined>();

/** Kernels FlowSeg registers or replaces on the wasm backend, by name. */
export const WASM_KERNEL_PATCHES = [
  'BatchMatMul',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'UnsortedSegmentSum',
  'GatherV2',
  'Transpose',
  ...BROADCAST_COMPARE_OPS,
  FUSED_LAYER_NORM,
  FUSED_ADD_LAYER_NORM,
] as const;

function replace(kernelName: string, kernelFunc: AnyKernel, setupFunc?: tf.KernelConfig['setupFunc']): void {
  const current = tf.getKernel(kernelName, 'wasm');
  stock.set(kernelName, current);
  if (current) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    ...(setupFunc ? { setupFunc } : {}),
  });
}

/**
 * Install FlowSeg's wasm kernels (idempotent; runs when `@flowseg/core` is imported):
 * a `BatchMatMul` that routes batched and transposed products through XNNPACK's fast
 * 2-D path, a block-copy `GatherV2`, a `Transpose` for (batched) matrices of elements or
 * chunks, comparison and logical kernels with fast broadcasting, fused layer normalizations
 * (`FlowSegFusedLayerNorm`, and `FlowSegFusedAddLayerNorm` of a residual sum), and the
 * training kernels wasm lacks (`Conv2DBackpropFilter`, `UnsortedSegmentSum`) plus a fast
 * `Conv2DBackpropInput`. Each replacement hands the cases it does not speed up to the stock
 * kernel. Other backends are untouched.
 *
 * @returns the kernel names patched.
 */
export function installWasmKernels(): readonly string[] {
  if (installed) return WASM_KERNEL_PATCHES;
  const matMulConfig = tf.getKernel('BatchMatMul', 'wasm');
  if (!matMulConfig) throw new Error('tfjs-backend-wasm has not registered BatchMatMul; import it before @flowseg/core');
  const original = matMulConfig.kernelFunc as unknown as Parameters<typeof makeFastBatchMatMul>[0];
  const fast = makeFastBatchMatMul(original);
  // The original's setup (which binds its wasm entry point) still has to run at backend start.
  replace('BatchMatMul', fast as AnyKernel, matMulConfig.setupFunc);
  replace('Conv2DBackpropFilter', makeConv2DBackpropFilter(fast) as AnyKernel);
  replace('Conv2DBackpropInput', makeConv2DBackpropInput(fast) as AnyKernel);
  replace('UnsortedSegmentSum', unsortedSegmentSum as AnyKernel);
  const gatherConfig = tf.getKernel('GatherV2', 'wasm');
  if (gatherConfig) {
    const stockGather = gatherConfig.kernelFunc as unknown as Parameters<typeof makeFastGatherV2>[0];
    replace('GatherV2', makeFastGatherV2(stockGather) as AnyKernel, gatherConfig.setupFunc);
  }
  // Kernels whose fast paths fall back to the stock kernel keep its setup (which binds its
  // wasm entry point at backend start).
  const wrap = (kernelName: string, make: (stock: never) => unknown) => {
    const config = tf.getKernel(kernelName, 'wasm');
    if (config) replace(kernelName, make(config.kernelFunc as never) as AnyKernel, config.setupFunc);
  };
  wrap('Transpose', makeBlockedTranspose);
  for (const op of BROADCAST_COMPARE_OPS) wrap(op, (stock) => makeBroadcastCompare(op, stock));
  replace(FUSED_LAYER_NORM, fusedLayerNormWasm as AnyKernel);
  replace(FUSED_ADD_LAYER_NORM, fusedLayerNormWasm as AnyKernel);
  installed = true;
  return WASM_KERNEL_PATCHES;
}

/**
 * Restore tfjs-backend-wasm's stock kernels (undo {@link installWasmKernels}). Meant for
 * benchmarks that compare against stock TF.js; training on wasm needs the patches.
 */
export function uninstallWasmKernels(): void {
  if (!installed) return;
  for (const [kernelName, config] of stock) {
    tf.unregisterKernel(kernelName, 'wasm');
    if (config) tf.registerKernel(config);
  }
  stock.clear();
  installed = false;
}
