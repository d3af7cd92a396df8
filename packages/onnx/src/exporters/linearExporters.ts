import { FeedForward, LayerNorm, Linear } from '@flowseg/core';
import { onnxAttribute } from '../graph/attributes.js';
import type { OnnxLayerExporter } from '../export/registry.js';

/** core `Linear`: `MatMul(x, kernel) + bias` on `x [..., inFeatures]` → `[..., outFeatures]`. */
export const linearExporter: OnnxLayerExporter<Linear> = {
  signature: (layer) => ({
    inputs: [
      { name: 'x', dtypes: ['float32'], dims: ['batch', 'sequence', layer.inFeatures], anyLeadingAxes: true, doc: 'Features `[..., inFeatures]`.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Mapped features `[..., outFeatures]`.' }],
  }),
  emit: (layer, { x }, ctx) => ({ output: ctx.linear(layer, '', x!, 'linear') }),
};

/** core `LayerNorm`: opset-17 `LayerNormalization` over the last axis (population variance, `epsilon` inside the root). */
export const layerNormExporter: OnnxLayerExporter<LayerNorm> = {
  signature: (layer) => ({
    inputs: [
      { name: 'x', dtypes: ['float32'], dims: ['batch', 'sequence', layer.features], anyLeadingAxes: true, doc: 'Features `[..., features]`.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Normalized features, same shape as `x`.' }],
  }),
  emit: (layer, { x }, ctx) => ({
    output: ctx.op(
      'LayerNormalization',
      [x!, ctx.weight(layer, 'weight'), ctx.weight(layer, 'bias')],
      { axis: -1, epsilon: onnxAttribute.float(layer.epsilon) },
      'layer_norm',
    ),
  }),
};

/**
 * core `FeedForward`: `linear2(act(linear1(x)))` (inference: no dropout). GELU is the exact
 * erf form `0.5·x·(1 + erf(x/√2))`, spelled with `Erf` (opset 17 has no `Gelu`).
 */
export const feedForwardExporter: OnnxLayerExporter<FeedForward> = {
  signature: (layer) => ({
    inputs: [{ name: 'x', dtypes: ['float32'], dims: ['batch', 'sequence', layer.dim], anyLeadingAxes: true, doc: 'Features `[..., dim]`.' }],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Features `[..., dim]`.' }],
  }),
  emit: (layer, { x }, ctx) => {
    const pre = ctx.linear(layer, 'linear1', x!);
    let hidden: string;
    if (layer.activation === 'relu') {
      hidden = ctx.op('Relu', [pre], {}, 'relu');
    } else {
      const half = ctx.op('Mul', [pre, ctx.scalar(0.5)], {}, 'gelu/half');
      const erf = ctx.op('Erf', [ctx.op('Mul', [pre, ctx.scalar(Math.SQRT1_2)], {}, 'gelu/scaled')], {}, 'gelu/erf');
      hidden = ctx.op('Mul', [half, ctx.op('Add', [erf, ctx.scalar(1)], {}, 'gelu/one_plus_erf')], {}, 'gelu');
    }
    return { output: ctx.linear(layer, 'linear2', hidden) };
  },
};
