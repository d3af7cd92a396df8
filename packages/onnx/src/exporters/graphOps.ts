import { ValueError, type FlowSegLayer } from '@flowseg/core';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import { onnxAttribute } from '../graph/attributes.js';

/** ε of every norm built with its default (core `LayerNorm`, mask2former `GroupNorm`): PyTorch's 1e-5. */
export const DEFAULT_NORM_EPSILON = 1e-5;

/**
 * Small node patterns shared by the exporters (NHWC convolutions, shape arithmetic,
 * resizes). Every helper appends nodes to `ctx` and returns the name of its result.
 * @internal
 */

/** Drops absent entries so only given ports reach a child exporter. */
export function given(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
}

/** `Shape(x)[start:end]` as an int64 vector (opset-15 `Shape` with `start`/`end`). */
export function shapeSlice(ctx: OnnxExportContext, x: string, start: number, end?: number, hint = 'shape'): string {
  return ctx.op('Shape', [x], end === undefined ? { start } : { start, end }, hint);
}

/** Concatenate int64 vectors (shape pieces). */
export function concatShape(ctx: OnnxExportContext, parts: readonly string[], hint = 'shape'): string {
  return ctx.op('Concat', parts, { axis: 0 }, hint);
}

/**
 * Stride-1 "same" convolution of an NHWC map with a TF-layout kernel `[k, k, in, out]`
 * (a weight value), optional bias `[out]`: transposed to ONNX's NCHW `Conv` and back. The
 * kernel's transpose reads an initializer only, so runtimes fold it when loading.
 */
export function conv2dNhwc(ctx: OnnxExportContext, x: string, kernel: string, bias: string | null, k: number, hint: string): string {
  const p = (k - 1) / 2;
  const w = ctx.op('Transpose', [kernel], { perm: [3, 2, 0, 1] }, `${hint}/kernel_oihw`);
  const nchw = ctx.op('Transpose', [x], { perm: [0, 3, 1, 2] }, `${hint}/nchw`);
  const y = ctx.op('Conv', bias ? [nchw, w, bias] : [nchw, w], { kernel_shape: [k, k], pads: [p, p, p, p], strides: [1, 1] }, `${hint}/conv`);
  return ctx.op('Transpose', [y], { perm: [0, 2, 3, 1] }, hint);
}

/**
 * `spaceToDepth` of `@flowseg/flowseg-model`: `[B, H, W, C]` → `[B, H/b, W/b, b·b·C]`, channel
 * order (row in patch, column in patch, C); sizes read at run time, so batch and spatial
 * axes stay dynamic.
 */
export function spaceToDepthNhwc(ctx: OnnxExportContext, x: string, block: number, channels: number, hint: string): string {
  const batch = shapeSlice(ctx, x, 0, 1, `${hint}/batch`);
  const grid = ctx.op('Div', [shapeSlice(ctx, x, 1, 3, `${hint}/hw`), ctx.int64([block])], {}, `${hint}/grid`);
  const gh = ctx.op('Slice', [grid, ctx.int64([0]), ctx.int64([1])], {}, `${hint}/grid_h`);
  const gw = ctx.op('Slice', [grid, ctx.int64([1]), ctx.int64([2])], {}, `${hint}/grid_w`);
  const split = ctx.op(
    'Reshape',
    [x, concatShape(ctx, [batch, gh, ctx.int64([block]), gw, ctx.int64([block, channels])], `${hint}/split_shape`)],
    {},
    `${hint}/split`,
  );
  const moved = ctx.op('Transpose', [split], { perm: [0, 1, 3, 2, 4, 5] }, `${hint}/moved`);
  return ctx.op('Reshape', [moved, concatShape(ctx, [batch, gh, gw, ctx.int64([block * block * channels])], `${hint}/out_shape`)], {}, hint);
}

/** Static `[height, width]` of an NHWC graph input when the export fixed both, else `null`. */
export function staticSpatialSize(ctx: OnnxExportContext, nhwc: string): [number, number] | null {
  const dims = ctx.dimsOf(nhwc);
  const h = dims?.[1];
  const w = dims?.[2];
  return typeof h === 'number' && typeof w === 'number' ? [h, w] : null;
}

/** `x` cast to float32 (1 = true). */
export function toFloat(ctx: OnnxExportContext, x: string, hint: string): string {
  return ctx.op('Cast', [x], { to: 1 }, hint);
}

/** `<prefix>.<name>`, or `name` for the layer's own weight (prefix `''`). */
export function weightKey(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** LayerNorm over the last axis with `owner`'s weights `<prefix>.weight` / `<prefix>.bias`. */
export function layerNormAt(ctx: OnnxExportContext, owner: FlowSegLayer, prefix: string, x: string, epsilon = DEFAULT_NORM_EPSILON): string {
  return ctx.op(
    'LayerNormalization',
    [x, ctx.weight(owner, weightKey(prefix, 'weight')), ctx.weight(owner, weightKey(prefix, 'bias'))],
    { axis: -1, epsilon: onnxAttribute.float(epsilon) },
    prefix || 'layer_norm',
  );
}

/** Side of the square kernel of `owner`'s conv weight `<prefix>.kernel` `[k, k, in, out]`. */
export function kernelSizeAt(owner: FlowSegLayer, prefix: string): number {
  const key = weightKey(prefix, 'kernel');
  const v = owner.namedWeights().get(key);
  if (!v) throw new ValueError(`${owner.getClassName()} "${owner.name}" has no weight "${key}"`, 'prefix');
  return v.shape[0]!;
}

/** A stride-1 "same" NHWC conv with `owner`'s `<prefix>.kernel` `[k, k, in, out]` and `<prefix>.bias` when present. */
export function conv2dAt(ctx: OnnxExportContext, owner: FlowSegLayer, prefix: string, x: string): string {
  const biasKey = weightKey(prefix, 'bias');
  const bias = ctx.hasWeight(owner, biasKey) ? ctx.weight(owner, biasKey) : null;
  return conv2dNhwc(ctx, x, ctx.weight(owner, weightKey(prefix, 'kernel')), bias, kernelSizeAt(owner, prefix), prefix || 'conv');
}

/** core `FeedForward` (ReLU) with `owner`'s weights `<prefix>.linear1.*`, `<prefix>.linear2.*`. */
export function reluFeedForwardAt(ctx: OnnxExportContext, owner: FlowSegLayer, prefix: string, x: string): string {
  const hidden = ctx.op('Relu', [ctx.linear(owner, `${prefix}.linear1`, x)], {}, `${prefix}/relu`);
  return ctx.linear(owner, `${prefix}.linear2`, hidden);
}

/** One spatial axis read at run time: its length (int64 `[1]`), as float32, and `0 … length − 1` as float32. */
export interface RuntimeAxis {
  readonly length: string;
  readonly lengthF: string;
  readonly range: string;
}

/** Axis `dim` of `x`, each piece computed once for every use below. */
export function runtimeAxis(ctx: OnnxExportContext, x: string, dim: number, hint: string): RuntimeAxis {
  const length = shapeSlice(ctx, x, dim, dim + 1, hint);
  const range = ctx.op('Range', [ctx.int64([0], []), ctx.op('Squeeze', [length], {}, `${hint}/n`), ctx.int64([1], [])], {}, `${hint}/range`);
  return { length, lengthF: toFloat(ctx, length, `${hint}/f`), range: toFloat(ctx, range, `${hint}/range_f`) };
}

/** Pixel-centre coordinates `(i + ½)/length` of an axis, shaped `shape`. */
export function pixelCentres(ctx: OnnxExportContext, axis: RuntimeAxis, shape: readonly number[], hint: string): string {
  const centres = ctx.op('Div', [ctx.op('Add', [axis.range, ctx.scalar(0.5)], {}, `${hint}/half`), axis.lengthF], {}, `${hint}/centres`);
  return ctx.op('Reshape', [centres, ctx.int64(shape)], {}, hint);
}
