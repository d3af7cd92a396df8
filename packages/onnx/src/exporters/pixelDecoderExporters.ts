import type { FlowSegLayer } from '@flowseg/core';
import { Conv2d, FpnPixelDecoder, GroupNorm, FPN_INPUT_LEVELS } from '@flowseg/mask2former-decoder';
import type { OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import { DEFAULT_NORM_EPSILON, concatShape, conv2dAt, layerNormAt, shapeSlice } from './graphOps.js';

/**
 * GroupNorm of an NHWC map with `owner`'s `<prefix>.weight|bias` (prefix `''`: the layer's own):
 * `[B, H, W, C]` → `[B, H·W, G, C/G]`, mean and population variance over axes (1, 3), then
 * `(x − μ)/√(σ² + ε)·γ + β` (opset 17 has no GroupNormalization).
 */
export function groupNormAt(
  ctx: OnnxExportContext,
  owner: FlowSegLayer,
  prefix: string,
  x: string,
  channels: number,
  groups: number,
  epsilon: number,
): string {
  const key = (k: string) => (prefix ? `${prefix}.${k}` : k);
  const hint = prefix || 'group_norm';
  const grouped = ctx.op('Reshape', [x, ctx.int64([0, -1, groups, channels / groups])], {}, `${hint}/grouped`);
  const mean = ctx.op('ReduceMean', [grouped], { axes: [1, 3], keepdims: 1 }, `${hint}/mean`);
  const diff = ctx.op('Sub', [grouped, mean], {}, `${hint}/centered`);
  const variance = ctx.op('ReduceMean', [ctx.op('Mul', [diff, diff], {}, `${hint}/squared`)], { axes: [1, 3], keepdims: 1 }, `${hint}/variance`);
  const std = ctx.op('Sqrt', [ctx.op('Add', [variance, ctx.scalar(epsilon)], {}, `${hint}/variance_eps`)], {}, `${hint}/std`);
  const normed = ctx.op('Reshape', [ctx.op('Div', [diff, std], {}, `${hint}/normed`), shapeSlice(ctx, x, 0)], {}, `${hint}/normed_nhwc`);
  return ctx.op('Add', [ctx.op('Mul', [normed, ctx.weight(owner, key('weight'))], {}, `${hint}/scaled`), ctx.weight(owner, key('bias'))], {}, hint);
}

/** mask2former-decoder `GroupNorm` on `[batch, height, width, channels]`. */
export const groupNormExporter: OnnxLayerExporter<GroupNorm> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'height', 'width', layer.channels], doc: 'Maps `[batch, height, width, channels]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Normalized maps, same shape.' }],
  }),
  emit: (layer, { x }, ctx) => {
    layer.ensureBuilt();
    return { output: groupNormAt(ctx, layer, '', x!, layer.channels, layer.groups, layer.epsilon) };
  },
};

/** mask2former-decoder `Conv2d`: stride-1 "same" NHWC convolution (ONNX `Conv` between transposes). */
export const pixelConv2dExporter: OnnxLayerExporter<Conv2d> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'height', 'width', layer.inChannels], doc: 'Maps `[batch, height, width, inChannels]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Maps `[batch, height, width, outChannels]`.' }],
  }),
  emit: (layer, { x }, ctx) => {
    layer.ensureBuilt();
    return { output: conv2dAt(ctx, layer, '', x!) };
  },
};

/**
 * `FpnPixelDecoder`: per level (coarse → fine) lateral 1×1 conv + norm, top-down nearest
 * upsampling (`Resize` nearest, asymmetric, floor: TF.js `resizeNearestNeighbor` without
 * half-pixel centres) added to it, 3×3 output conv + norm + ReLU; mask features a 1×1
 * projection of the finest level. Batch and spatial axes are dynamic.
 */
export const fpnPixelDecoderExporter: OnnxLayerExporter<FpnPixelDecoder> = {
  signature: (layer) => ({
    inputs: layer.inChannels.map((c, i) => ({
      name: `backbone${i}`,
      dtypes: ['float32'] as const,
      dims: ['batch', `height${i}`, `width${i}`, c],
      doc: `Backbone map ${i} (finest first: strides 4, 8, 16, 32) \`[batch, height${i}, width${i}, ${c}]\`.`,
    })),
    outputs: [
      ...[0, 1, 2].map((i) => ({
        name: `features${i}`,
        dtype: 'float32' as const,
        doc: `FPN level ${i}, coarsest first \`[batch, height, width, convDim]\`.`,
      })),
      { name: 'maskFeatures', dtype: 'float32', doc: 'Per-pixel mask features `[batch, height0, width0, maskDim]`.' },
    ],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const norm = (prefix: string, x: string): string => {
      if (layer.norm === 'none') return x;
      if (layer.norm === 'layer') return layerNormAt(ctx, layer, prefix, x);
      return groupNormAt(ctx, layer, prefix, x, layer.convDim, layer.groups, DEFAULT_NORM_EPSILON);
    };
    const levels: string[] = new Array<string>(FPN_INPUT_LEVELS);
    let y: string | null = null;
    for (let i = FPN_INPUT_LEVELS - 1; i >= 0; i--) {
      let merged = norm(`lateral_norms.${i}`, ctx.linear(layer, `lateral_convs.${i}`, inputs[`backbone${i}`]!));
      if (y) {
        const sizes = concatShape(ctx, [shapeSlice(ctx, y, 0, 1), shapeSlice(ctx, merged, 1, 3), shapeSlice(ctx, y, 3, 4)], `top_down.${i}/sizes`);
        const up = ctx.op(
          'Resize',
          [y, '', '', sizes],
          { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
          `top_down.${i}`,
        );
        merged = ctx.op('Add', [merged, up], {}, `merged.${i}`);
      }
      y = ctx.op('Relu', [norm(`output_norms.${i}`, conv2dAt(ctx, layer, `output_convs.${i}`, merged))], {}, `level.${i}`);
      levels[i] = y;
    }
    return {
      features0: levels[3]!,
      features1: levels[2]!,
      features2: levels[1]!,
      maskFeatures: ctx.linear(layer, 'mask_features', levels[0]!),
    };
  },
};
