import { sizeOf, type KernelArgs, type TensorInfo } from './wasmHeap.js';
import { wasmKernelsFor } from './flowSegWasmKernels.js';

/** Name of core's fused layer-normalization kernel, inputs `x`, `gamma`, `beta` (registered on wasm only). */
export const FUSED_LAYER_NORM = 'FlowSegFusedLayerNorm';
/** The same normalizing `x + residual`, inputs `x`, `residual`, `gamma`, `beta` (a kernel of its own: a kernel's saved inputs cannot be optional). */
export const FUSED_ADD_LAYER_NORM = 'FlowSegFusedAddLayerNorm';

/** Attributes of {@link FUSED_LAYER_NORM}. */
export interface FusedLayerNormAttrs {
  /** Added to the variance. */
  epsilon: number;
}

/**
 * `FlowSegFusedLayerNorm` and `FlowSegFusedAddLayerNorm` on wasm: inputs `x` `[..., features]`,
 * `gamma` and `beta` `[features]` (float32), and for the second `residual` (the shape of `x`:
 * normalizes `x + residual`, a post-norm block's sum). One call of core's wasm `layerNormF32`
 * instead of the ten or eleven kernels (sum, means, deviations, variance, scale and shift) the
 * composed ops take.
 */
export function fusedLayerNormWasm(args: KernelArgs<FusedLayerNormAttrs>): TensorInfo {
  const { backend } = args;
  const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>;
  const residual = args.inputs['residual'];
  const kernels = wasmKernelsFor(backend);
  if (!kernels) throw new Error(`${FUSED_LAYER_NORM} needs core's wasm kernels, which did not load on this backend`);
  const out = backend.makeOutput([...x.shape], 'float32');
  const cols = x.shape[x.shape.length - 1]!;
  const size = sizeOf(x.shape);
  if (size === 0) return out;
  const at = (info: TensorInfo) => backend.dataIdMap.get(info.dataId).memoryOffset;
  kernels.layerNormF32(at(x), residual ? at(residual) : 0, residual !== undefined, at(gamma), at(beta), at(out), size / cols, cols, args.attrs.epsilon);
  return out;
}
