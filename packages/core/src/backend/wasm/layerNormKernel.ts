import { sizeOf, type KernelArgs, type TensorInfo } from './wasmHeap.js';
import { wasmKernelsFor } from './flowSegWasmKernels.js';

/** Name of core's fused layer-normalization kernel (registered on wasm only). */
export const FUSED_LAYER_NORM = 'FlowSegFusedLayerNorm';

/** Attributes of {@link FUSED_LAYER_NORM}. */
export interface FusedLayerNormAttrs {
  /** Added to the variance. */
  epsilon: number;
}

/**
 * `FlowSegFusedLayerNorm` on wasm: inputs `x` `[..., features]`, `gamma` and `beta`
 * `[features]` (float32); one pass of core's wasm `layerNormF32` per call instead of the ten
 * kernels (means, deviations, variance, scale and shift) the composed ops take.
 */
export function fusedLayerNormWasm(args: KernelArgs<FusedLayerNormAttrs>): TensorInfo {
  const { backend } = args;
  const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>;
  const kernels = wasmKernelsFor(backend);
  if (!kernels) throw new Error(`${FUSED_LAYER_NORM} needs core's wasm kernels, which did not load on this backend`);
  const out = backend.makeOutput([...x.shape], 'float32');
  const cols = x.shape[x.shape.length - 1]!;
  const size = sizeOf(x.shape);
  if (size === 0) return out;
  const at = (info: TensorInfo) => backend.dataIdMap.get(info.dataId).memoryOffset;
  kernels.layerNormF32(at(x), at(gamma), at(beta), at(out), size / cols, cols, args.attrs.epsilon);
  return out;
}
